/**
 * The Casbin model every compiled policy is written for (also shipped as policies/model.conf).
 * r.now is the decision time as an ISO-8601 UTC string with milliseconds; p.from / p.until use the
 * same fixed-width format (empty = open), so string comparison orders them. Deny overrides allow.
 * The cheap equality tests come before g(), which keeps Casbin's own scan as fast as it can be.
 */
export const MODEL_TEXT = `# rbac-normalizer Casbin model (engine of record).
# r.now is the decision time as an ISO-8601 UTC string with milliseconds
# (e.g. 2026-11-22T10:00:00.000Z); p.from / p.until use the same format and are
# empty when the grant has no start or end. Fixed-width ISO strings compare
# correctly as strings. A grant holds for from <= now < until.
[request_definition]
r = sub, obj, act, now

[policy_definition]
p = sub, obj, act, eft, from, until

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = r.obj == p.obj && r.act == p.act && g(r.sub, p.sub) && (p.from == "" || p.from <= r.now) && (p.until == "" || r.now < p.until)
`;
