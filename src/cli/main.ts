import { pathToFileURL } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { manualClock } from '../clock.js';
import { compileSnapshot } from '../compile.js';
import { loadConfig } from '../config.js';
import { createAuthorizer, type Decision } from '../engine/authorizer.js';
import { escapeControls, formatDecision, jsonForTerminal } from '../engine/format.js';
import { ConfigError, isRbacError, MappingError, SuiteError } from '../errors.js';
import { IdentitiesError, loadIdentities } from '../identities.js';
import { loadMappings } from '../mapping/load.js';
import { writePolicy } from '../policy/store.js';
import { registerAuditCommands } from './audit.js';
import { registerPolicyTestCommands } from './policy-tests.js';
import { registerSyncCommands } from './sync.js';

/** Where the CLI writes; injectable for tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal (progress bars are drawn there). */
  isTTY?: boolean;
}

const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  isTTY: process.stderr.isTTY === true,
};

/** Exit codes: 0 ok/allow, 1 deny or failure, 2 usage or configuration error. */
export const EXIT = { ok: 0, deny: 1, failure: 1, usage: 2 } as const;

/** Runs the CLI with `argv` (without node and script) and resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('rbac-normalizer')
    .description(
      'Normalize Zoom, Vonage Contact Center and Tuya permissions into one Casbin policy and answer checks from it.',
    )
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError('(run with --help for usage)');
  const configOption = () =>
    new Option(
      '-c, --config <file>',
      'config file naming policies, mappings and identities (default: rbac.config.yaml if present)',
    );

  program
    .command('compile')
    .description('compile a snapshot of vendor responses into policies/ (policy.csv, provenance.jsonl)')
    .addOption(configOption())
    .option('-s, --snapshot <dir>', 'snapshot folder (default: the config\'s "snapshot")')
    .option('--json', 'print the summary as JSON')
    .action(async (opts: { config?: string; snapshot?: string; json?: boolean }) => {
      const config = await loadConfig(opts.config);
      const snapshot = opts.snapshot ?? config.snapshot;
      if (!snapshot)
        throw new ConfigError('--snapshot', 'give --snapshot DIR or set "snapshot:" in the config');
      const [mappings, identities] = await Promise.all([
        loadMappings(config.mappings),
        loadIdentities(config.identities, { optional: !config.identitiesRequired }),
      ]);
      const result = await compileSnapshot(snapshot, mappings, identities);
      await writePolicy(config.policies, result.policy, result.provenance);
      if (opts.json) {
        io.out(
          `${JSON.stringify({ policies: config.policies, ...result.counts, unmatched: result.unmatched, skipped: result.skipped, notices: result.notices }, null, 2)}\n`,
        );
        return;
      }
      io.out(
        `compiled ${result.counts.vendorGrants} vendor grants of ${result.counts.users} accounts into ${result.counts.rules} rules and ${result.counts.links} role links → ${config.policies}\n`,
      );
      // Vendor values are printed escaped: a value must not drive the terminal or fake a line.
      for (const n of result.notices) io.err(`notice: ${escapeControls(n)}\n`);
      for (const u of result.unmatched)
        io.err(
          `warning: no mapping rule for ${u.vendor} ${u.kind} ${escapeControls(`${u.raw} (held by ${u.holder})`)}\n`,
        );
      for (const s of result.skipped)
        io.err(
          `warning: skipped ${s.vendor} ${escapeControls(`${s.raw} (held by ${s.holder}, rule ${s.rule}): ${s.reason}`)}\n`,
        );
    });

  const decisionCommand = (name: 'check' | 'explain', description: string) =>
    program
      .command(name)
      .description(description)
      .argument(
        '<user>',
        'subject: a person id, or email:<email> / <vendor>:<id> for an account no person is linked to',
      )
      .argument('<resource>', 'e.g. zoom:recording, vonage:group:<id>, tuya:permission:<id>')
      .argument('<action>', 'e.g. read, edit, write, use')
      .addOption(configOption())
      .option('--at <time>', 'decide at this ISO-8601 time instead of now')
      .option('--json', 'print the decision as JSON')
      .action(
        async (
          user: string,
          resource: string,
          action: string,
          opts: { config?: string; at?: string; json?: boolean },
        ) => {
          const config = await loadConfig(opts.config);
          let at: number | undefined;
          if (opts.at !== undefined) {
            at = Date.parse(opts.at);
            if (!Number.isFinite(at))
              throw new ConfigError('--at', `not an ISO-8601 time: ${JSON.stringify(opts.at)}`);
          }
          const authz = await createAuthorizer({
            policies: config.policies,
            cache: false,
            ...(at !== undefined ? { clock: manualClock(at) } : {}),
          });
          const d: Decision = authz.explain(user, resource, action);
          // Decisions carry vendor values: no control character reaches the terminal, JSON or not.
          if (opts.json) io.out(`${jsonForTerminal(d)}\n`);
          else if (name === 'check') io.out(`${d.allowed ? 'allow' : 'deny'}\n`);
          else io.out(formatDecision(d));
          code = d.allowed ? EXIT.ok : EXIT.deny;
        },
      );

  decisionCommand(
    'check',
    'print allow or deny (exit 0 for allow, 1 for deny, 2 for usage or configuration errors)',
  );
  decisionCommand(
    'explain',
    'print the decision with the rule, role path, vendor value and mapping line behind it',
  );

  const commandContext = {
    io,
    configOption,
    setExit: (c: number) => {
      code = c;
    },
  };
  registerPolicyTestCommands(program, commandContext);
  registerSyncCommands(program, { ...commandContext, isTTY: io.isTTY ?? false });
  registerAuditCommands(program, commandContext);

  try {
    await program.parseAsync(argv, { from: 'user' });
    if (argv.length === 0) {
      io.out(program.helpInformation());
      return EXIT.usage;
    }
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
        ? EXIT.ok
        : EXIT.usage;
    }
    if (
      err instanceof ConfigError ||
      err instanceof MappingError ||
      err instanceof IdentitiesError ||
      err instanceof SuiteError
    ) {
      io.err(`error: ${printable(err.message)}\n`);
      return EXIT.usage;
    }
    if (isRbacError(err)) {
      io.err(`error: ${printable(err.message)}\n`);
      return EXIT.failure;
    }
    io.err(`error: ${printable(err instanceof Error ? err.message : String(err))}\n`);
    return EXIT.failure;
  }
}

/** An error message for the terminal: its own lines kept, control characters in them escaped (they may quote policy values). */
function printable(message: string): string {
  return message.split('\n').map(escapeControls).join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
