// Why a default deny may be a typo rather than a real deny. Built from the loaded policy once per
// command, only when a decision found no rule: deciding itself (engine/) never pays for it.
import { suggest } from '../mapping/yaml-source.js';
import type { Policy } from '../policy/types.js';

/** The hints for one request: what of it the policy never mentions. */
export type PolicyHints = (subject: string, resource: string, action: string) => string[];

/**
 * Indexes what `policy` mentions (subjects of rules and links, the actions of each resource) and
 * returns a function that names what a request asks about that no rule or link mentions.
 *
 * @example
 * policyHints(authz.getPolicy())('alice', 'zoom:recording', 'edt');
 * // ['no rule mentions action "edt" on "zoom:recording" (known: edit, read)']
 */
export function policyHints(policy: Policy): PolicyHints {
  const subjects = new Set<string>();
  const actions = new Map<string, Set<string>>();
  for (const r of policy.rules) {
    subjects.add(r.sub);
    const known = actions.get(r.obj);
    if (known) known.add(r.act);
    else actions.set(r.obj, new Set([r.act]));
  }
  for (const l of policy.links) {
    subjects.add(l.member);
    subjects.add(l.role);
  }
  const q = (s: string) => JSON.stringify(s);
  return (subject, resource, action) => {
    const hints: string[] = [];
    const known = actions.get(resource);
    if (known === undefined)
      hints.push(`no rule mentions resource ${q(resource)}${suggest(resource, [...actions.keys()])}`);
    else if (!known.has(action))
      hints.push(
        `no rule mentions action ${q(action)} on ${q(resource)} (known: ${[...known].sort().join(', ')})`,
      );
    if (!subjects.has(subject)) hints.push(`subject ${q(subject)} appears in no rule or link`);
    return hints;
  };
}
