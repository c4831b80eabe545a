// An app instance as a process of its own (started by instance-process.ts, not a test): it runs
// createAuthorizer({ config }) on the config file named by argv[2] (a PostgreSQL store and its
// propagation) and answers the parent's questions over the IPC channel.
import { createAuthorizer } from '../../src/authorizer.js';
import { linkKey, ruleKey } from '../../src/policy/types.js';
import type { InstanceReply, InstanceRequest } from './instance-process.js';

const send = (m: InstanceReply, then?: () => void) => process.send?.(m, undefined, {}, then);
const config = process.argv[2];
const errors: string[] = [];

try {
  const authz = await createAuthorizer({
    ...(config ? { config } : {}),
    onError: (e) => errors.push(e instanceof Error ? e.message : String(e)),
  });
  /** ms since the instance last confirmed it is current. */
  const heardAgo = () => Date.now() - (authz.freshness().lastHeardAt ?? 0);
  const answer = async (r: InstanceRequest): Promise<unknown> => {
    switch (r.op) {
      case 'decide': {
        const [user, resource, action] = r.args;
        const before = heardAgo();
        const allowed = authz.enforce(user, resource, action);
        let strict: boolean | string;
        try {
          strict = authz.enforceStrict(user, resource, action);
        } catch (err) {
          strict = (err as Error).name;
        }
        return { allowed, strict, version: authz.freshness().version, heardAgo: [before, heardAgo()] };
      }
      case 'freshness':
        return authz.freshness();
      case 'waitForVersion':
        return authz.waitForVersion(r.args[0], { timeout: r.args[1] });
      case 'keys': {
        const p = authz.getPolicy();
        return [...p.rules.map(ruleKey), ...p.links.map(linkKey)].sort();
      }
      case 'errors':
        return errors;
      case 'close':
        await authz.close();
        return null;
    }
  };
  process.on('message', (r: InstanceRequest) => {
    answer(r).then(
      (value) => send({ id: r.id, value }, r.op === 'close' ? () => process.exit(0) : undefined),
      (err: unknown) => send({ id: r.id, error: `${(err as Error).name}: ${(err as Error).message}` }),
    );
  });
  process.on('disconnect', () => process.exit(0)); // the parent is gone
  send({ ready: authz.freshness().version });
} catch (err) {
  send({ fatal: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  process.exit(1);
}
