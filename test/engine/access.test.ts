import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { diffAccess, effectiveAccess, subtract, union } from '../../src/engine/access.js';
import type { Policy } from '../../src/policy/types.js';
import { rule } from '../helpers/policy.js';

const I = Number.POSITIVE_INFINITY;

describe('effective access', () => {
  test('interval union merges touching windows and subtract cuts holes', () => {
    assert.deepEqual(
      union([
        { from: 5, until: 8 },
        { from: 1, until: 5 },
        { from: 10, until: 12 },
      ]),
      [
        { from: 1, until: 8 },
        { from: 10, until: 12 },
      ],
    );
    assert.deepEqual(subtract([{ from: -I, until: I }], [{ from: 3, until: 4 }]), [
      { from: -I, until: 3 },
      { from: 4, until: I },
    ]);
    assert.deepEqual(subtract([{ from: 1, until: 2 }], [{ from: -I, until: I }]), []);
  });

  test('reaches rules through roles, and a deny removes what an allow gives', () => {
    const policy: Policy = {
      rules: [
        rule('role:zoom:1', 'zoom:recording', 'read'),
        rule('role:zoom:1', 'zoom:recording', 'edit'),
        rule('bob', 'zoom:recording', 'edit', { eft: 'deny', from: 10, until: 20 }),
      ],
      links: [
        { member: 'alice', role: 'role:zoom:1' },
        { member: 'bob', role: 'role:zoom:1' },
      ],
    };
    const access = effectiveAccess(policy);
    assert.deepEqual([...access.keys()], ['alice', 'bob'], 'roles are not listed as people');
    assert.deepEqual(access.get('bob')?.get('zoom:recording')?.get('edit'), [
      { from: -I, until: 10 },
      { from: 20, until: I },
    ]);
  });

  test('diff reports gains and losses per person, including through a role change', () => {
    const before: Policy = {
      rules: [rule('role:zoom:1', 'zoom:recording', 'read'), rule('carol', 'tuya:permission:7', 'use')],
      links: [{ member: 'alice', role: 'role:zoom:1' }],
    };
    const after: Policy = {
      rules: [
        rule('role:zoom:1', 'zoom:recording', 'read'),
        rule('role:zoom:1', 'zoom:recording', 'edit'),
        rule('carol', 'tuya:permission:7', 'use', { from: 0, until: 100 }),
      ],
      links: [
        { member: 'alice', role: 'role:zoom:1' },
        { member: 'bob', role: 'role:zoom:1' },
      ],
    };
    const d = diffAccess(before, after);
    assert.deepEqual(
      d.map((s) => [
        s.subject,
        s.gains.map((g) => `${g.resource} ${g.action}`),
        s.losses.map((l) => l.intervals),
      ]),
      [
        ['alice', ['zoom:recording edit'], []],
        ['bob', ['zoom:recording edit', 'zoom:recording read'], []],
        [
          'carol',
          [],
          [
            [
              { from: -I, until: 0 },
              { from: 100, until: I },
            ],
          ],
        ],
      ],
    );
    assert.deepEqual(diffAccess(after, after), []);
  });
});
