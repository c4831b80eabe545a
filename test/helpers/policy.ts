// Policy fixtures the engine, access and middleware tests share.
import type { PolicyRule } from '../../src/policy/types.js';

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
