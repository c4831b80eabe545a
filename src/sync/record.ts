// sync --record DIR: the raw responses written as a snapshot folder that replaces DIR whole once the
// run is done. Since DIR is removed, it must be a folder that holds nothing but an earlier recording:
// never the policies folder or the project, never someone's non-empty folder. Every recording holds a
// marker file that says so.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, realpath, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { afterWrite, hostTag, pidAlive, removeTree, renameFile } from '../policy/durable.js';
import type { FetchedBody } from '../snapshot/read.js';

/** The file in every recording that marks it as one this tool wrote (and may replace). */
export const RECORDING_MARKER = '.rbac-normalizer-recording';

/** What a recording folder must keep clear of. */
export interface RecordGuards {
  /** The policies folder: the recording may not be it, lie inside it or contain it. */
  readonly policies: string;
  /** The config file's folder (or the working folder without one): not it, nor one containing it. */
  readonly project: string;
  /** Files and folders the run reads (mappings, identities): not them, nor one containing them. */
  readonly inputs: readonly string[];
  /** A dry run writes nothing, so it may not record. */
  readonly dryRun: boolean;
}

export function recordGuards(config: Config, dryRun: boolean): RecordGuards {
  return {
    policies: config.policies,
    project: config.file ? dirname(config.file) : process.cwd(),
    inputs: [config.mappings, config.identities],
    dryRun,
  };
}

/**
 * Checks a recording folder before any request.
 *
 * @throws ConfigError (`key`, `record` by default) when it is, contains or lies inside the policies
 * folder; is or contains the config file's folder, the mappings or the identities file; is a file;
 * is a non-empty folder without the recording marker; or when `dryRun`.
 */
export async function checkRecordTarget(target: string, guards: RecordGuards, key = 'record'): Promise<void> {
  const refuse = (why: string) => new ConfigError(key, `${JSON.stringify(target)} ${why}`);
  if (guards.dryRun)
    throw new ConfigError(key, 'a dry run writes nothing, a recording included: drop --dry-run or --record');
  const at = await realish(target);
  const project = await realish(guards.project);
  if (at === project)
    throw refuse('is the config file’s folder; name a folder of its own, e.g. snapshots/<date>');
  if (within(project, at)) throw refuse(`contains the config file’s folder ${project}`);
  const policies = await realish(guards.policies);
  if (at === policies) throw refuse('is the policies folder');
  if (within(at, policies)) throw refuse(`lies inside the policies folder ${policies}`);
  if (within(policies, at)) throw refuse(`contains the policies folder ${policies}`);
  for (const input of guards.inputs) {
    const p = await realish(input);
    if (at === p || within(p, at)) throw refuse(`would remove ${p}, which the run reads`);
  }
  const st = await stat(at).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) throw refuse('exists and is not a folder');
  const names = await readdir(at);
  if (names.length > 0 && !names.includes(RECORDING_MARKER))
    throw refuse(
      `is not empty and not a recording (no ${RECORDING_MARKER} in it): name a new or empty folder, or an earlier recording`,
    );
}

export type Recorder = Awaited<ReturnType<typeof startRecording>>;

/**
 * Records fetched responses as a snapshot folder, unit by unit, into a temporary folder beside the
 * target (named with this host and pid, so a later recording there removes it if this process is
 * killed) that replaces the target whole on finish(), after checking it again.
 */
export async function startRecording(target: string, guards: RecordGuards, key = 'record') {
  const abs = resolve(target);
  await removeOrphanRecordings(dirname(abs));
  const tmp = join(
    dirname(abs),
    `.${basename(abs)}.recording-${hostTag()}-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  await mkdir(tmp, { recursive: true });
  await writeFile(
    join(tmp, RECORDING_MARKER),
    'Written by rbac-normalizer sync --record: raw vendor responses in the snapshot layout. A later --record may replace this folder whole.\n',
  );
  afterWrite();
  return {
    async write(files: ReadonlyMap<string, FetchedBody>): Promise<void> {
      for (const [rel, { text }] of files) {
        const file = join(tmp, ...rel.split('/'));
        await mkdir(dirname(file), { recursive: true });
        // The body exactly as the vendor sent it (what compile checks again, offline).
        await writeFile(file, text.endsWith('\n') ? text : `${text}\n`);
        afterWrite();
      }
    },
    async finish(): Promise<string> {
      await checkRecordTarget(target, guards, key);
      await removeTree(abs);
      await renameFile(tmp, abs);
      return target;
    },
    discard: () => removeTree(tmp),
  };
}

/** Removes temporary recording folders in `parent` of processes on this host that no longer run. */
async function removeOrphanRecordings(parent: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return;
  }
  const host = hostTag();
  for (const name of names) {
    const now = /^\..+\.recording-(.*)-(\d{1,10})-[0-9a-f]{8}$/s.exec(name);
    const before = /^\..+-\d+-(\d{1,10})\.recording$/s.exec(name); // as earlier versions named them
    const pid = now && now[1] === host ? now[2] : before?.[1];
    if (pid !== undefined && !pidAlive(Number(pid))) await removeTree(join(parent, name)).catch(() => {});
  }
}

/** The absolute real path of `p`, symbolic links resolved as far as the path exists. */
async function realish(p: string): Promise<string> {
  const abs = resolve(p);
  try {
    return await realpath(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(await realish(parent), basename(abs));
  }
}

/** Whether `inner` lies strictly inside `outer`. */
function within(inner: string, outer: string): boolean {
  const r = relative(outer, inner);
  return r !== '' && r.split(sep)[0] !== '..' && !isAbsolute(r);
}
