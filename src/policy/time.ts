// Times in the Casbin policy are fixed-width ISO-8601 UTC strings with milliseconds, so that plain
// string comparison in the Casbin matcher orders them correctly. That holds for years 0000-9999 only.
export const EARLIEST = Date.parse('0000-01-01T00:00:00.000Z');
export const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

/** Formats a bound for the policy file: '' for an open bound, otherwise the ISO string. */
export function formatBound(ms: number): string {
  if (ms === Number.NEGATIVE_INFINITY || ms === Number.POSITIVE_INFINITY) return '';
  return new Date(ms).toISOString();
}

/** Formats the request time for Casbin's `r.now`. */
export function formatNow(ms: number): string {
  return new Date(ms).toISOString();
}

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Parses a bound from the policy file; `open` is what an empty field means. Returns NaN when invalid. */
export function parseBound(s: string, open: number): number {
  if (s === '') return open;
  if (!ISO_MS.test(s)) return Number.NaN;
  return Date.parse(s);
}

export function isRepresentable(ms: number): boolean {
  return Number.isFinite(ms) && ms >= EARLIEST && ms <= LATEST;
}

// toISOString() costs as much as a cached decision on a slow VM: the text of the second is kept and
// only the milliseconds are written anew. Outside the years 0000-9999 Date's own text is used.
let isoSecond = Number.NaN;
let isoPrefix = '';

/**
 * isoTime(at) up to the milliseconds (`2026-11-30T16:22:11.`) for an integer time in the years
 * 0000-9999; undefined for any other time.
 */
export function isoSecondOf(at: number): string | undefined {
  if (!Number.isInteger(at)) return undefined;
  const second = at - millisOf(at);
  if (second !== isoSecond) {
    const text = new Date(second).toISOString();
    if (text.length !== 24) return undefined;
    isoSecond = second;
    isoPrefix = text.slice(0, 20);
  }
  return isoPrefix;
}

/** The milliseconds of an integer time, 0-999 (before 1970 too). */
export function millisOf(at: number): number {
  return ((at % 1000) + 1000) % 1000;
}

export function isoTime(at: number): string {
  const second = isoSecondOf(at);
  if (second === undefined) return new Date(at).toISOString();
  const ms = millisOf(at);
  return `${second}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}
