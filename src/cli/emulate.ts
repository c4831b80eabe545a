// The `emulate` command: the local vendor emulator until Ctrl-C, and the config that points at it.
import { writeFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { DEFAULT_CONFIG_FILE } from '../config.js';
import { identitiesYaml, seededDataset, snapshotDataset } from '../emulator/dataset.js';
import { EMULATOR_CREDENTIALS, type Faults, startEmulator } from '../emulator/server.js';
import type { CommandContext } from './context.js';
import { atLeastZero, numberOption, positive, share, whole } from './options.js';

interface EmulateOptions {
  config?: string;
  port: number;
  host: string;
  users: number;
  seed: number;
  snapshot?: string;
  identitiesOut?: string;
  rateLimit?: number;
  latency?: number;
  errorRate?: number;
  malformedRate?: number;
  tokenTtl?: number;
  failUser?: string[];
  vonageFirstPage: number;
}

export function registerEmulateCommand(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  program
    .command('emulate')
    .description('run the local vendor emulator (Zoom, Vonage, Tuya on one loopback port) until stopped')
    .option(
      '-c, --config <file>',
      `the config file the printed "vendors:" section is for (the emulator reads none; default: ${DEFAULT_CONFIG_FILE})`,
    )
    .addOption(
      new Option('-p, --port <port>', 'port (0 = any free port)')
        .default(4010)
        .argParser(whole('--port', 0, 65535)),
    )
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .addOption(
      new Option('--users <n>', 'seeded data set with this many people per vendor')
        .default(5)
        .argParser(whole('--users', 0)),
    )
    .addOption(
      new Option('--seed <n>', 'seed for the data set and fault dice')
        .default(1)
        .argParser(whole('--seed', 0)),
    )
    .option('--snapshot <dir>', 'serve the data of a snapshot folder instead (e.g. examples/snapshot)')
    .option(
      '--identities-out <file>',
      'write an identities file for the data set (Tuya users are known only through it)',
    )
    .addOption(
      new Option(
        '--rate-limit <perSecond>',
        'answer 429 (Tuya: code 1110) beyond this many requests/s per vendor',
      ).argParser(positive('--rate-limit')),
    )
    .addOption(new Option('--latency <ms>', 'delay every answer').argParser(atLeastZero('--latency')))
    .addOption(
      new Option('--error-rate <share>', 'share of answers that are 503 (0-1)').argParser(
        share('--error-rate'),
      ),
    )
    .addOption(
      new Option('--malformed-rate <share>', 'share of answers with a broken JSON body (0-1)').argParser(
        share('--malformed-rate'),
      ),
    )
    .addOption(
      new Option('--token-ttl <seconds>', 'lifetime of issued tokens').argParser(positive('--token-ttl')),
    )
    .option('--fail-user <id...>', 'user (or Zoom role) ids whose permission calls always fail')
    .addOption(
      new Option('--vonage-first-page <n>', 'Vonage first page number, 0 or 1')
        .default(1)
        .argParser(numberOption('--vonage-first-page', (n) => n === 0 || n === 1, '0 or 1')),
    )
    .action(async (opts: EmulateOptions) => {
      const dataset = opts.snapshot
        ? await snapshotDataset(opts.snapshot)
        : seededDataset({ users: opts.users, seed: opts.seed });
      const rate = opts.rateLimit;
      const faults: Partial<Faults> = {
        ...(rate !== undefined ? { rateLimit: { zoom: rate, vonage: rate, tuya: rate } } : {}),
        ...(opts.latency !== undefined ? { latencyMs: opts.latency } : {}),
        ...(opts.errorRate !== undefined ? { errorRate: opts.errorRate } : {}),
        ...(opts.malformedRate !== undefined ? { malformedRate: opts.malformedRate } : {}),
        ...(opts.tokenTtl !== undefined ? { tokenTtlSeconds: opts.tokenTtl } : {}),
        ...(opts.failUser ? { failUsers: opts.failUser } : {}),
        vonageFirstPage: opts.vonageFirstPage === 0 ? 0 : 1,
      };
      if (opts.identitiesOut) await writeFile(opts.identitiesOut, identitiesYaml(dataset));
      const emu = await startEmulator({ dataset, faults, seed: opts.seed, port: opts.port, host: opts.host });
      // The emulator reads no config; --config names the file the printed section is for.
      io.out(
        `vendor emulator on ${emu.url} (Ctrl-C to stop). Point ${opts.config ?? DEFAULT_CONFIG_FILE} at it:\n\n${emulatorConfig(emu.url)}\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await emu.close();
    });
}

/** A `vendors:` config section for an emulator at `url`, with the credentials it accepts. */
export function emulatorConfig(url: string): string {
  const c = EMULATOR_CREDENTIALS;
  return [
    'vendors:',
    `  zoom: { baseUrl: ${url}/zoom/v2, tokenUrl: ${url}/zoom/oauth/token, accountId: ${c.zoom.accountId}, clientId: ${c.zoom.clientId}, clientSecret: ${c.zoom.clientSecret} }`,
    `  vonage: { baseUrl: ${url}/vonage/useradmin, tokenUrl: ${url}/vonage/Auth/connect/token, clientId: ${c.vonage.clientId}, clientSecret: ${c.vonage.clientSecret} }`,
    `  tuya: { baseUrl: ${url}/tuya, clientId: ${c.tuya.clientId}, clientSecret: ${c.tuya.clientSecret} }`,
  ].join('\n');
}
