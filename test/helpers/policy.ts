// Policy fixtures the engine, access and middleware tests share.
import type { Policy, PolicyRule } from '../../src/policy/types.js';

/** An open-ended allow rule, or what `extra` says. */
export const rule = (sub: string, obj: string, act: string, extra: Partial<PolicyRule> = {}): PolicyRule => ({
  sub,
  obj,
  act,
  eft: 'allow',
  from: Number.NEGATIVE_INFINITY,
  until: Number.POSITIVE_INFINITY,
  ...extra,
});

/** role:admin may read doc. */
export const adminRead = rule('role:admin', 'doc', 'read');

/** alice and bob hold role:admin; bob is denied doc read by a rule of his own; carol may read it herself. */
export const docPolicy: Policy = {
  rules: [adminRead, rule('bob', 'doc', 'read', { eft: 'deny' }), rule('carol', 'doc', 'read')],
  links: [
    { member: 'alice', role: 'role:admin' },
    { member: 'bob', role: 'role:admin' },
  ],
};
