// A string as JSON, without JSON.stringify's cost for the strings a decision log line mostly holds
// (ids and names with nothing to escape): about a tenth of the time for a short plain string.

/**
 * JSON.stringify(s), exactly: a string with nothing JSON escapes (no control character, quote,
 * backslash or surrogate) is quoted as it is; any other goes to JSON.stringify.
 */
export function jsonString(s: string): string {
  return plain(s) ? `"${s}"` : JSON.stringify(s);
}

/**
 * Writes jsonString(s) to the parts of a text being built (joined later) from index `i`, without
 * making a string for it; returns the index after it.
 */
export function putJsonString(parts: (string | number)[], i: number, s: string): number {
  if (!plain(s)) {
    parts[i] = JSON.stringify(s);
    return i + 1;
  }
  parts[i] = '"';
  parts[i + 1] = s;
  parts[i + 2] = '"';
  return i + 3;
}

/** True when JSON.stringify would only quote `s`. */
function plain(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Surrogates too: JSON.stringify escapes a lone one, and telling lone from paired is its job.
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

/** JSON.stringify(list) of a list of strings, exactly. */
export function jsonStrings(list: readonly string[]): string {
  let out = '[';
  for (let i = 0; i < list.length; i++) out += (i === 0 ? '' : ',') + jsonString(list[i] as string);
  return `${out}]`;
}
