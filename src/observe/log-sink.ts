// Where decision log lines go: a file (a pino destination, which this module opens and closes) or a
// stream the caller owns. The only module that imports pino, and only when a file is asked for
// (loading it costs tens of ms, which every CLI run and every user of the library would pay).
import { closeSync, constants, fstatSync, mkdirSync, openSync, type Stats, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';

type PinoDestination = typeof import('pino')['destination'];

/** Takes whole JSON lines; close() hands everything written so far on (to the OS or the caller's stream). */
export interface LogSink {
  write(line: string): void;
  /** Hands on what is waiting now, rather than on the next turn (a writer that just wrote a batch). */
  drain(): void;
  close(): Promise<void>;
}

/** A stream a caller passes: anything with write(string); a pino destination also has flushSync(). */
export interface CallerStream {
  write(line: string): unknown;
  flushSync?: () => void;
}

/** Lines are handed on in batches of this many, or at the next turn of the event loop. */
const BATCH = 256;

/**
 * Prepares `destination` and returns what opens it: a file path is opened (by the returned
 * function) for appending, its folder made, as a pino destination writing synchronously; a stream
 * is written as it is and left open. Lines are batched (a write per line would cost more than the
 * line) and handed on at the latest on the next turn of the event loop.
 *
 * The returned function throws ConfigError (`decisionLog.destination`) when the file cannot be opened.
 */
export async function sinkOpener(
  destination: string | CallerStream,
  onError: (error: unknown) => void,
): Promise<() => LogSink> {
  if (typeof destination !== 'string') return () => streamSink(destination, onError);
  const { destination: pinoDestination } = (await import('pino')).default;
  return () => fileSink(pinoDestination, destination, onError);
}

/** The pino destination the file sink writes through (its own factory in tests). */
export type FileDestination = Pick<ReturnType<PinoDestination>, 'write' | 'on' | 'once' | 'end' | 'destroy'>;

/** After a failed write or open, the file is opened again at most this often (ms); lines between are lost. */
const REOPEN_MS = 1000;

/** Opens `path` for appending without ever blocking (a FIFO with no reader fails with ENXIO). */
function openForAppending(path: string): number {
  mkdirSync(dirname(path), { recursive: true });
  if (isPipe(statSync(path, { throwIfNoEntry: false }))) throw notAFile();
  const fd = openSync(
    path,
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK,
  );
  // Made a pipe in between: refused all the same.
  if (isPipe(fstatSync(fd))) {
    closeSync(fd);
    throw notAFile();
  }
  return fd;
}

const isPipe = (s: Stats | undefined) => s !== undefined && (s.isFIFO() || s.isSocket());
const notAFile = () =>
  Object.assign(
    new Error('a pipe or socket: pass it as a stream (pino.destination({ dest, sync: false }))'),
    {
      code: 'ENOTFILE',
    },
  );

/**
 * A file (or a device such as /dev/null) opened for appending, written synchronously through a
 * pino destination, a chunk (up to 64 KiB) at a time. A write that fails (a full disk) loses what
 * was handed over, never more: the destination is destroyed with what it held (memory stays
 * bounded), the first failure of a run is reported, and the file is opened anew at most once a
 * second (`now`, ms: the monotonic clock unless a test gives its own).
 *
 * @throws ConfigError (`decisionLog.destination`) when the file cannot be opened now, or is a pipe
 * or socket (give those as a stream).
 */
export function fileSink(
  pinoDestination: (options: { fd: number; sync: boolean; contentMode: 'buffer' }) => FileDestination,
  path: string,
  onError: (error: unknown) => void,
  now: () => number = () => performance.now(),
): LogSink {
  let fd: number;
  try {
    // Opened here, not by the destination, so that a path that cannot be written fails at construction.
    fd = openForAppending(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new ConfigError(
      'decisionLog.destination',
      code === 'ENOTFILE'
        ? `${JSON.stringify(path)} is ${(err as Error).message}`
        : `cannot open ${JSON.stringify(path)} for appending${typeof code === 'string' ? ` (${code})` : ''}`,
      { cause: err },
    );
  }
  // Written synchronously: an asynchronous write finishes only on a later turn of the event loop,
  // so under load the chunks it still held piled up in memory (without bound while the loop was
  // busy) and were never reused, and every new one cost page faults; a write to the page cache
  // takes about 15 µs for 64 KiB, and the disk's own pace holds the log back instead of letting it
  // grow. (Pipes, whose reader may stall, are refused above.)
  // In a run of failed writes (or opens) after the first, which was reported; when it failed last.
  let failing = false;
  let failedAt = Number.NEGATIVE_INFINITY;
  const failed = (err: unknown) => {
    if (!failing) onError(err);
    failing = true;
    failedAt = now();
  };
  // The destination being closed by close(): its failure is still reported.
  let closing: FileDestination | undefined;
  const destination = (fd: number): FileDestination => {
    // Buffer mode: lines are encoded into a chunk as they come (byteBatcher), handed over as bytes.
    const d = pinoDestination({ fd, sync: true, contentMode: 'buffer' });
    // A write that succeeds ends a run of failures.
    d.on('write', () => {
      if (d === file) failing = false;
    });
    // Never left to crash the process (an 'error' event with no listener would).
    d.on('error', (err: unknown) => {
      // Closes its file and drops what it held: nothing it was handed will be written now.
      d.destroy();
      if (d === closing) onError(err);
      // One given up before (its file failing to close, say) ends no run and starts none.
      if (d !== file) return;
      file = undefined;
      failed(err);
    });
    return d;
  };
  let file: FileDestination | undefined = destination(fd);
  let closed: Promise<void> | undefined;
  const lines = byteBatcher((bytes) => {
    if (file === undefined) {
      // While writes fail (a full disk), the file is opened again at most once a second, not at
      // every hand-over; the lines in between are lost.
      if (now() - failedAt < REOPEN_MS) return;
      try {
        file = destination(openForAppending(path));
      } catch (err) {
        failed(err);
        return;
      }
    }
    file.write(bytes as unknown as string);
  }, onError);
  return {
    write: (line) => {
      // Entries after close() are dropped: the file is closed.
      if (closed === undefined) lines.write(line);
    },
    drain: () => lines.drain(),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        lines.drain();
        const last = file;
        file = undefined;
        if (last === undefined) return resolve();
        closing = last;
        last.once('close', () => resolve());
        // A failing close is reported (onError) and must not leave close() waiting for ever.
        last.once('error', () => resolve());
        last.end();
      });
      return closed;
    },
  };
}

function streamSink(stream: CallerStream, onError: (error: unknown) => void): LogSink {
  const lines = batcher((text) => stream.write(text), onError);
  return {
    write: (line) => lines.write(line),
    drain: () => lines.drain(),
    async close() {
      lines.drain();
      // The caller's stream stays open (it is theirs); a pino destination is flushed.
      try {
        if (typeof stream.flushSync === 'function') stream.flushSync();
      } catch (err) {
        onError(err);
      }
    },
  };
}

/** Bytes of the chunk handed to a file: lines are encoded into it as they come. */
const CHUNK = 64 * 1024;

/**
 * Encodes lines into one chunk of bytes, reused, and hands on what it holds on the next turn, on
 * drain(), or when it is full: no joined string, and no conversion of one in the file's writer. The
 * writer is synchronous: when it returns, what it was handed is written (or, after a failure,
 * dropped with it), so the chunk is free again; a fresh 64 KiB per hand-over would cost page
 * faults that, on a VM, take longer than the lines.
 */
function byteBatcher(
  writeChunk: (bytes: Buffer) => unknown,
  onError: (error: unknown) => void,
): { write(line: string): void; drain(): void } {
  const chunk = Buffer.allocUnsafe(CHUNK);
  let used = 0;
  let scheduled = false;
  const hand = (bytes: Buffer) => {
    try {
      writeChunk(bytes);
    } catch (err) {
      // Drained from setImmediate too, where a throw would end the process.
      onError(err);
    }
  };
  const drain = () => {
    scheduled = false;
    if (used === 0) return;
    const bytes = chunk.subarray(0, used);
    used = 0;
    hand(bytes);
  };
  return {
    write(line) {
      // A UTF-16 unit is at most 3 bytes of UTF-8: lines that may not fit are measured; lines that
      // do not fit wait for the chunk to be handed on, and lines longer than it go on their own.
      if (used + line.length * 3 > CHUNK && used + Buffer.byteLength(line, 'utf8') > CHUNK) {
        drain();
        if (Buffer.byteLength(line, 'utf8') > CHUNK) {
          hand(Buffer.from(line, 'utf8'));
          return;
        }
      }
      used += chunk.write(line, used, 'utf8');
      if (!scheduled) {
        scheduled = true;
        setImmediate(drain);
      }
    },
    drain,
  };
}

/** Collects lines and hands them on together: when BATCH are waiting, on the next turn, or on drain(). */
function batcher(
  writeChunk: (text: string) => unknown,
  onError: (error: unknown) => void,
): { write(line: string): void; drain(): void } {
  let waiting: string[] = [];
  let scheduled = false;
  const drain = () => {
    scheduled = false;
    if (waiting.length === 0) return;
    const text = waiting.join('');
    waiting = [];
    try {
      writeChunk(text);
    } catch (err) {
      // Drained from setImmediate too, where a throw would end the process.
      onError(err);
    }
  };
  return {
    write(line) {
      waiting.push(line);
      if (waiting.length >= BATCH) drain();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(drain);
      }
    },
    drain,
  };
}

/** True for what `destination` accepts as a stream: an object with a write() method. */
export function isWritable(x: unknown): x is CallerStream {
  return typeof x === 'object' && x !== null && typeof (x as { write?: unknown }).write === 'function';
}
