// Connection strings carry passwords: whatever the store reports is passed through this first.

/**
 * Replaces the URL and its password wherever they appear in a text (URL form, or a
 * `password=` keyword in a key/value connection string).
 */
export function scrubberFor(url: string | undefined): (text: string) => string {
  const secrets: string[] = [];
  if (url) {
    secrets.push(url);
    try {
      const u = new URL(url);
      if (u.password) secrets.push(u.password, decodeURIComponent(u.password));
    } catch {
      const m = /:\/\/[^:/@]*:([^@]*)@/.exec(url);
      if (m?.[1]) secrets.push(m[1]);
    }
    const kv = /password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/i.exec(url);
    if (kv?.[1]) secrets.push(kv[1]);
  }
  const list = secrets.filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  return (text) => list.reduce((t, s) => t.split(s).join('***'), text);
}
