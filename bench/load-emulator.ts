// The vendors for the load benchmark, in their own process (the app's process holds only what a real
// deployment would: the app and its sync). Forked by load-server.ts with an IPC channel:
// `load-emulator.ts <people>` serves seeded data for <people> people per vendor and sends
// { url, identities } once it listens; on { type: 'mutate', tick } it changes some people's vendor
// data in place and answers { type: 'mutated', tick, people, edits }: the people whose data changed
// (ids of the identities file) and what was done.
import type { Dataset, Item } from '../src/emulator/dataset.js';
import { identitiesYaml, seededDataset } from '../src/emulator/dataset.js';
import { startEmulator } from '../src/emulator/server.js';
import { rng } from '../test/helpers/random.js';

export interface MutateRequest {
  type: 'mutate';
  tick: number;
}
export interface Mutated {
  type: 'mutated';
  tick: number;
  /** People (identities ids) whose vendor data changed: a sync refreshing them picks it all up. */
  people: string[];
  edits: Record<string, number>;
}

const LEVELS = ['None', 'Read', 'Write'];
/** Privileges a role edit toggles: both decide the app's /recordings routes. */
const ROLE_TOGGLES = ['Recording:Read', 'Recording:Edit'];
/** People whose data changes each tick (one of them may be there for a role edit). */
const PER_TICK = 12;

/**
 * One tick of vendor-side changes, seeded: per person one of a Vonage group level flip (None / Read /
 * Write), a Vonage group added or taken away, a move to another Zoom role, or a Tuya permission
 * granted or revoked; and every other tick a custom Zoom role gains or loses Recording:Read or
 * Recording:Edit (one of its members is listed, so a refresh of the listed people fetches the role).
 */
export function mutate(ds: Dataset, r: ReturnType<typeof rng>, tick: number): Omit<Mutated, 'type' | 'tick'> {
  const people = new Set<string>();
  const edits: Record<string, number> = {};
  const count = (k: string) => {
    edits[k] = (edits[k] ?? 0) + 1;
  };
  const ids = [...ds.people.keys()];
  const custom = ds.zoom.roles.filter((x) => x.id !== '0'); // the Owner role is not editable in Zoom
  if (tick % 2 === 1) {
    const role = r.pick(custom.filter((x) => x.members.length > 0));
    const p = r.pick(ROLE_TOGGLES);
    role.privileges = role.privileges.includes(p)
      ? role.privileges.filter((x) => x !== p)
      : [...role.privileges, p].sort();
    const member = role.members[r.int(role.members.length)]!;
    const person = ids.find((id) => ds.people.get(id)?.zoom === member.id);
    if (person) people.add(person);
    count('zoom role privileges');
  }
  while (people.size < PER_TICK) {
    const person = r.pick(ids);
    if (people.has(person) || person === ids[0]) continue; // ids[0] is the Zoom Owner: left alone
    people.add(person);
    const acc = ds.people.get(person)!;
    const dice = r.next();
    if (dice < 0.5) {
      const groups = ds.vonage.groups.get(acc.vonage!)!;
      const g = groups.length ? r.pick(groups) : undefined;
      if (g) {
        g['groupPermission'] = r.pick(LEVELS.filter((l) => l !== g['groupPermission']));
        count('vonage group level');
      } else {
        groups.push(group(r.int(50), r.pick(LEVELS)));
        count('vonage group added');
      }
    } else if (dice < 0.65) {
      const groups = ds.vonage.groups.get(acc.vonage!)!;
      const n = r.int(50);
      const at = groups.findIndex((g) => g['groupId'] === `g-${n}`);
      if (at >= 0) {
        groups.splice(at, 1);
        count('vonage group removed');
      } else {
        groups.push(group(n, r.pick(LEVELS)));
        count('vonage group added');
      }
    } else if (dice < 0.85) {
      const user = ds.zoom.users.find((u) => u.id === acc.zoom)!;
      const from = ds.zoom.roles.find((x) => x.id === user.role_id)!;
      const to = r.pick(custom.filter((x) => x.id !== from.id));
      const at = from.members.findIndex((m) => m.id === user.id);
      const [member] = from.members.splice(at, 1);
      to.members.push(member ?? { id: user.id!, email: user.email });
      user.role_id = to.id;
      count('zoom role move');
    } else {
      const perms = ds.tuya.permissions.get(acc.tuya!)!;
      if (perms.length && r.chance(0.5)) {
        perms.splice(r.int(perms.length), 1);
        count('tuya permission revoked');
      } else {
        const id = 232371800 + r.int(100);
        if (!perms.some((p) => p['permission_id'] === id))
          perms.push({ permission_id: id, name: `Permission ${id}`, description: '', type: 0 });
        count('tuya permission granted');
      }
    }
  }
  return { people: [...people], edits };
}

function group(n: number, level: string): Item {
  return {
    groupId: `g-${n}`,
    groupDisplayId: String(1000 + n),
    groupName: `Group ${n}`,
    groupPermission: level,
  };
}

if (process.send) {
  const people = Number(process.argv[2] ?? 500);
  // Temporary Tuya grants run from 5 days before `now` to 5 days after: in force for the whole run.
  const dataset = seededDataset({ users: people, seed: 1, now: Date.now() });
  const emu = await startEmulator({ dataset });
  const r = rng(42);
  process.on('message', (m: MutateRequest | { type: 'close' }) => {
    if (m.type === 'mutate') process.send!({ type: 'mutated', tick: m.tick, ...mutate(dataset, r, m.tick) });
    else void emu.close().then(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ url: emu.url, identities: identitiesYaml(dataset) });
}
