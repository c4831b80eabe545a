// How a subject is written to the decision log when it is masked; `log query --subject` uses the
// same hash to find a person's entries.
import { createHash } from 'node:crypto';

/**
 * The `hash` mask of a subject: `sha256:` and the first 16 hex digits of the SHA-256 of its UTF-8
 * bytes. Unsalted, so anyone with a list of candidate subjects (emails) can find which one it is:
 * pseudonymization, not anonymity. Pass a function (an HMAC with a key of yours) for more.
 *
 * @example
 * hashSubject('alice'); // 'sha256:2bd806c97f0e00af'
 */
export function hashSubject(subject: string): string {
  return `sha256:${createHash('sha256').update(subject, 'utf8').digest('hex').slice(0, 16)}`;
}
