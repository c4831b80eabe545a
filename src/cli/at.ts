import { ConfigError } from '../errors.js';

// Date, time, optional seconds and fraction, and a zone (Z or ±hh:mm), as RFC 3339 writes them.
const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;
const EXAMPLE = '2026-11-22T12:00:00Z';

/**
 * Reads the `--at` option (or another time option, named by `option`): an ISO-8601 time **with** a zone (`2026-11-22T12:00:00Z`,
 * `2026-11-22T07:00:00-05:00`), as epoch ms. A time without a zone is refused rather than read as
 * the machine's local time (JavaScript's reading), and so is a date alone (which JavaScript reads
 * as UTC): the same text must decide the same way on every machine.
 *
 * @throws ConfigError (`--at`, or `option`) showing how to write it.
 * @example
 * parseAt('2026-11-22T12:00:00Z'); // 1795348800000
 */
export function parseAt(text: string, option = '--at'): number {
  const m = INSTANT.exec(text);
  if (!m) {
    const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
    throw new ConfigError(
      option,
      dateOnly
        ? `${JSON.stringify(text)} is a date without a time and zone; write ${text}T00:00:00Z for midnight UTC`
        : `not an ISO-8601 time with a zone: ${JSON.stringify(text)}; write e.g. ${EXAMPLE}`,
    );
  }
  const [, y, mo, d, h, mi, s = '0', frac = '', z, sign, oh = '0', om = '0'] = m;
  if (z === undefined && sign === undefined)
    throw new ConfigError(
      option,
      `${JSON.stringify(text)} has no time zone (it would be read as this machine's local time); write ${text}Z for UTC, or give an offset: ${text}-05:00`,
    );
  const n = (v: string | undefined) => Number(v);
  const ms = Date.UTC(n(y), n(mo) - 1, n(d), n(h), n(mi), n(s), n(frac.padEnd(3, '0').slice(0, 3)));
  const date = new Date(ms);
  const valid =
    date.getUTCFullYear() === n(y) &&
    date.getUTCMonth() === n(mo) - 1 &&
    date.getUTCDate() === n(d) &&
    n(h) <= 23 &&
    n(mi) <= 59 &&
    n(s) <= 59 &&
    n(oh) <= 23 &&
    n(om) <= 59;
  if (!valid)
    throw new ConfigError(option, `not a valid time: ${JSON.stringify(text)}; write e.g. ${EXAMPLE}`);
  const offset = (sign === '-' ? -1 : 1) * (n(oh) * 60 + n(om)) * 60_000;
  return ms - offset;
}
