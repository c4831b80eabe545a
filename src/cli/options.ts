// Option parsers for commander's argParser: a value out of range is refused with a ConfigError
// naming the flag (exit 2), where commander alone would keep the text, or NaN.
import { ConfigError } from '../errors.js';

/** A number option whose value must pass `ok`; `expected` words the rule for the error. */
export const numberOption =
  (flag: string, ok: (n: number) => boolean, expected: string) =>
  (value: string): number => {
    const n = value.trim() === '' ? Number.NaN : Number(value);
    if (!ok(n)) throw new ConfigError(flag, `must be ${expected}, got ${JSON.stringify(value)}`);
    return n;
  };
/** A whole number in [min, max]. */
export const whole = (flag: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  numberOption(
    flag,
    (n) => Number.isInteger(n) && n >= min && n <= max,
    max === Number.MAX_SAFE_INTEGER ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`,
  );
/** A share of answers, 0 to 1. */
export const share = (flag: string) =>
  numberOption(flag, (n) => n >= 0 && n <= 1, 'a share from 0 to 1 (0.05 is 5%)');
export const positive = (flag: string) =>
  numberOption(flag, (n) => Number.isFinite(n) && n > 0, 'a number > 0');
export const atLeastZero = (flag: string) =>
  numberOption(flag, (n) => Number.isFinite(n) && n >= 0, 'a number >= 0');
