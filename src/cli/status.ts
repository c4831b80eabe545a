// `rbac-normalizer status`: the health of the policy the config names (folder or shared store).
import type { Command } from 'commander';
import { createAuthorizer } from '../authorizer.js';
import { escapeControls } from '../engine/format.js';
import type { CommandContext } from './context.js';

export function registerStatusCommand(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  program
    .command('status')
    .description('policy version and load time, last sync per vendor, stale units, for the configured policy')
    .addOption(ctx.configOption())
    .option('--json', 'print the health report as JSON')
    .action(async (opts: { config?: string; json?: boolean }) => {
      const authz = await createAuthorizer(opts.config !== undefined ? { config: opts.config } : {});
      try {
        const h = await authz.health();
        if (opts.json) {
          io.out(`${JSON.stringify(h, null, 2)}\n`);
          return;
        }
        const lines = [
          h.ready ? 'ready' : `not ready: ${h.notReady}`,
          `policy: version ${h.policy.version}, ${h.policy.rules} rules, ${h.policy.links} links, loaded ${h.policy.loadedAt ?? 'never'}`,
          `last sync: ${h.lastSyncAt ?? 'none recorded'}; stale units: ${h.staleUnits}`,
          ...h.vendors.map(
            (v) =>
              `  ${v.vendor.padEnd(7)} last success ${v.lastSuccess ?? 'never'}${v.stale ? `, ${v.stale} stale` : ''}`,
          ),
        ];
        io.out(`${lines.map(escapeControls).join('\n')}\n`);
      } finally {
        await authz.close();
      }
    });
}
