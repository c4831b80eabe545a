import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SnapshotError } from '../../src/errors.js';
import { decodeIdSegment, encodeIdSegment } from '../../src/snapshot/layout.js';
import { MEMORY_ROOT, memoryFiles, readSnapshot } from '../../src/snapshot/read.js';

async function copyExample(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-snap-'));
  await cp('examples/snapshot', dir, { recursive: true });
  return dir;
}

describe('reading a snapshot', () => {
  test('reads the same from memory as from disk (what sync compiles)', async () => {
    const files = new Map<string, string>();
    for (const e of await readdir('examples/snapshot', { recursive: true, withFileTypes: true })) {
      if (!e.isFile()) continue;
      const full = join(e.parentPath, e.name);
      files.set(full.slice('examples/snapshot/'.length), await readFile(full, 'utf8'));
    }
    const disk = await readSnapshot('examples/snapshot');
    const memory = await readSnapshot(MEMORY_ROOT, { files: memoryFiles(files) });
    assert.deepEqual(memory, disk);
  });

  test('reads all three vendors of the example, across pages', async () => {
    const data = await readSnapshot('examples/snapshot');
    const count = (v: string, kind?: string) =>
      data.grants.filter((g) => g.vendor === v && (!kind || g.kind === kind)).length;
    assert.equal(data.users.filter((u) => u.vendor === 'zoom').length, 3);
    assert.equal(data.users.filter((u) => u.vendor === 'vonage').length, 3);
    assert.equal(count('vonage', 'group'), 7); // alice's two pages, bob, dave
    assert.equal(count('tuya'), 7); // alice's two pages (2 + 1), bob (2), carol, unlinked
    assert.equal(data.links.length, 3);
    assert.ok(data.notices.some((n) => n.includes('erin@example.com')));
  });

  test('keeps only what a Zoom user holds beyond their roles as direct grants', async () => {
    const data = await readSnapshot('examples/snapshot');
    const direct = data.grants
      .filter((g) => g.vendor === 'zoom' && g.holder.type === 'user')
      .map((g) => g.raw);
    assert.deepEqual(direct, ['Webinar:Read']);
  });

  test('rejects a body that is not JSON with the file named', async () => {
    const dir = await copyExample();
    await writeFile(join(dir, 'vonage/users/page-0002.json'), '{"users": [');
    await assert.rejects(
      readSnapshot(dir),
      (e: unknown) =>
        e instanceof SnapshotError && e.file === 'vonage/users/page-0002.json' && /not JSON/.test(e.message),
    );
  });

  test('rejects wrong types instead of guessing', async () => {
    const dir = await copyExample();
    await writeFile(
      join(dir, 'zoom/users/z-bob/permissions.json'),
      '{"permissions": ["Recording:Read", 42]}',
    );
    await assert.rejects(readSnapshot(dir), /"permissions\[1\]" must be string/);
    const dir2 = await copyExample();
    await writeFile(
      join(dir2, 'tuya/users/ay-bob/permissions/page-0001.json'),
      '{"success": false, "code": 1010, "msg": "token invalid"}',
    );
    await assert.rejects(readSnapshot(dir2), /success=false \(code 1010/);
  });

  test('rejects a body whose user id does not match its folder', async () => {
    const dir = await copyExample();
    await writeFile(
      join(dir, 'vonage/users/8e22b1fe-d2ea-403d-8c03-50eb21188e79/groups/page-0001.json'),
      '{"userId": "someone-else", "groupPermissions": []}',
    );
    await assert.rejects(readSnapshot(dir), /folder of user/);
  });

  test('lists every bad file in one read, the role listing included, and reads nothing from them', async () => {
    const dir = await copyExample();
    await writeFile(join(dir, 'zoom/roles/page-0001.json'), '{"roles": [');
    await writeFile(join(dir, 'vonage/users/page-0002.json'), '{"users": "none"}');
    await writeFile(join(dir, 'tuya/users/ay-bob/permissions/page-0001.json'), '{"success": true}');
    await writeFile(
      join(dir, 'vonage/users/8e22b1fe-d2ea-403d-8c03-50eb21188e79/groups/page-0001.json'),
      '{"groupPermissions": [{"groupId": "g1", "groupPermission": ["Write"]}]}',
    );
    const err = await readSnapshot(dir).then(
      () => assert.fail('a snapshot with bad files was read'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SnapshotError);
    assert.deepEqual(
      err.problems.map((p) => `${p.file} ${p.field ?? ''}`),
      [
        'zoom/roles/page-0001.json ',
        'vonage/users/page-0002.json users',
        'vonage/users/8e22b1fe-d2ea-403d-8c03-50eb21188e79/groups/page-0001.json groupPermissions[0].groupPermission',
        'tuya/users/ay-bob/permissions/page-0001.json result',
      ],
    );
    assert.match(err.message, /^4 snapshot files have problems:/);
  });

  test('a lax read (what a sync does with its own units) keeps the usable part and reports the rest', async () => {
    const dir = await copyExample();
    await writeFile(
      join(dir, 'vonage/users/8e22b1fe-d2ea-403d-8c03-50eb21188e79/groups/page-0001.json'),
      JSON.stringify({
        userId: '8e22b1fe-d2ea-403d-8c03-50eb21188e79',
        groupPermissions: [
          { groupId: 'g1', groupPermission: ['Write'] },
          { groupId: 'g2', groupDisplayId: 17, groupPermission: 'Read' },
        ],
      }),
    );
    const data = await readSnapshot(dir, { strict: false, vendors: ['vonage'] });
    const bob = data.grants.filter(
      (g) => g.holder.type === 'user' && g.holder.vendorUserId.startsWith('8e22'),
    );
    assert.deepEqual(
      bob.filter((g) => g.kind === 'group').map((g) => [g.fields['groupId'], g.fields['groupDisplayId']]),
      [['g2', '17']],
    );
    assert.deepEqual(
      data.problems.map((p) => `${p.effect} ${p.field}`),
      ['skipped groupPermissions[0].groupPermission'],
    );
  });
});

test('encodes hostile ids as one safe folder name and decodes them back', () => {
  for (const id of ['../roles', 'a/b', '..', '.', 'x\ny', '__proto__', 'a,b"c']) {
    const seg = encodeIdSegment(id);
    assert.ok(!seg.includes('/') && seg !== '..' && seg !== '.' && !seg.includes('\n'), seg);
    assert.equal(decodeIdSegment(seg), id);
  }
});
