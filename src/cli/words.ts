/**
 * A count with its noun, singular for one: `plural(1, 'rule')` is `1 rule`, `plural(2, 'rule')`
 * `2 rules`; `many` for nouns that do not take an s (`plural(2, 'retry', 'retries')`).
 */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
