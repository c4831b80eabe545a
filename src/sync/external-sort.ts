// An external merge sort: items are buffered, sorted and written to disk as runs of at most
// `runItems`, then read back merged, so sorting any number of items holds about `runItems` of them
// plus one per run. A sync uses it so that its memory does not grow with the size of the policy.
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createChunkedWriter, readLines } from '../policy/store.js';

export interface ExternalSortOptions<T> {
  /** An existing folder for the run files (the caller creates and removes it). */
  readonly dir: string;
  /** Order of the output. Items that compare equal come out in the order they were added. */
  readonly compare: (a: T, b: T) => number;
  /** One line of text per item (no line break in it; JSON.stringify is fine). */
  readonly encode: (item: T) => string;
  readonly decode: (line: string) => T;
  /** Items held before a run is written. Default 8192. */
  readonly runItems?: number;
  /** Runs merged at once; when there are more, runs are first merged into longer ones. Default 64. */
  readonly fanIn?: number;
}

export interface ExternalSort<T> {
  add(item: T): Promise<void>;
  /** Every item added, in order. Call once, after the last add. */
  sorted(): AsyncGenerator<T>;
}

export function createExternalSort<T>(options: ExternalSortOptions<T>): ExternalSort<T> {
  const { dir, compare, encode, decode } = options;
  const runItems = options.runItems ?? 8192;
  const fanIn = options.fanIn ?? 64;
  if (!Number.isInteger(runItems) || runItems < 1)
    throw new RangeError('runItems must be a positive integer');
  if (!Number.isInteger(fanIn) || fanIn < 2) throw new RangeError('fanIn must be an integer >= 2');
  let buffer: T[] = [];
  // Older runs first, so that equal items keep the order they were added in.
  let runs: string[] = [];
  let written = 0;

  async function writeRun(items: AsyncIterable<T> | Iterable<T>): Promise<string> {
    const file = join(dir, `run-${written++}.jsonl`);
    const fh = await open(file, 'w');
    try {
      const out = createChunkedWriter(fh);
      for await (const item of items) await out.write(`${encode(item)}\n`);
      await out.flush();
    } finally {
      await fh.close();
    }
    return file;
  }

  async function* readRun(file: string): AsyncGenerator<T> {
    const lines = await readLines(file, 'cannot read a sort run');
    if (!lines) throw new Error(`sort run ${file} is missing`);
    for await (const line of lines) yield decode(line);
  }

  async function* merge(files: readonly string[]): AsyncGenerator<T> {
    const sources = files.map(readRun);
    const heads: (IteratorResult<T> | undefined)[] = await Promise.all(sources.map((s) => s.next()));
    try {
      for (;;) {
        // Few runs: a linear scan for the smallest head (the earliest run wins a tie: stable).
        let min = -1;
        for (let i = 0; i < heads.length; i++) {
          const h = heads[i];
          if (h === undefined || h.done) continue;
          if (min === -1 || compare(h.value, (heads[min] as IteratorYieldResult<T>).value) < 0) min = i;
        }
        if (min === -1) return;
        yield (heads[min] as IteratorYieldResult<T>).value;
        heads[min] = await sources[min]!.next();
      }
    } finally {
      await Promise.all(sources.map((s) => s.return(undefined)));
    }
  }

  // Runs are written one after another (adds may go on meanwhile), in the order they filled.
  let writing: Promise<void> = Promise.resolve();
  function flush(): Promise<void> {
    if (buffer.length === 0) return writing;
    const items = buffer;
    buffer = [];
    writing = writing.then(async () => {
      runs.push(await writeRun(items.sort(compare))); // Array#sort is stable
      if (runs.length >= fanIn) {
        const merged = await writeRun(merge(runs));
        await Promise.all(runs.map((f) => rm(f, { force: true })));
        runs = [merged];
      }
    });
    return writing;
  }

  return {
    async add(item) {
      buffer.push(item);
      if (buffer.length >= runItems) await flush();
    },
    async *sorted() {
      await flush();
      yield* merge(runs);
    },
  };
}
