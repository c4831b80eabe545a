// `rbac-normalizer store migrate`: creates or upgrades the shared PostgreSQL store's tables.
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { openConfiguredStore } from '../store/configured.js';
import type { CommandContext } from './context.js';

export function registerStoreCommands(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const store = program
    .command('store')
    .description('the shared policy store named by the config ("store: postgres://...")')
    .option('-c, --config <file>', 'config file naming the store (default: rbac.config.yaml if present)');
  store
    .command('migrate')
    .description("create or upgrade the store's tables (idempotent; safe from several instances at once)")
    .option('-c, --config <file>', 'config file naming the store (default: rbac.config.yaml if present)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { config?: string; json?: boolean }) => {
      const config = await loadConfig(opts.config ?? (store.opts() as { config?: string }).config);
      const shared = await openConfiguredStore(config);
      if (!shared)
        throw new ConfigError(
          'store',
          'the config names no store: add "store: postgres://..." (or a DATABASE_URL variable)',
        );
      try {
        const r = await shared.postgres.migrate();
        if (opts.json) io.out(`${JSON.stringify(r)}\n`);
        else
          io.out(
            r.applied.length
              ? `applied migrations ${r.applied.join(', ')}; schema version ${r.schemaVersion}\n`
              : `already at schema version ${r.schemaVersion}\n`,
          );
      } finally {
        await shared.close();
      }
    });
}
