// `rbac-normalizer zoom push-role`: writes permissions back to a Zoom role through the mapping in reverse.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { createZoomAdapter } from '../adapters/zoom.js';
import { loadConfig } from '../config.js';
import { escapeControls } from '../engine/format.js';
import { ConfigError, MappingError } from '../errors.js';
import { loadMappings } from '../mapping/load.js';
import { parseYamlSource } from '../mapping/yaml-source.js';
import { vendorSettings } from '../sync/settings.js';
import { type Permission, pushRole } from '../zoom/push-role.js';
import type { CommandContext } from './context.js';
import { plural } from './words.js';

export function registerZoomCommands(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const zoom = program
    .command('zoom')
    .description('Zoom-specific commands')
    .addOption(ctx.configOption())
    .action(() => {
      // A group without its subcommand: its help, on stdout like the program's, as a usage error.
      io.out(zoom.helpInformation());
      ctx.setExit(2);
    });
  zoom
    .command('push-role')
    .description(
      'write a desired set of permissions back to a Zoom role (PATCH /roles/{roleId}), through the mapping in reverse',
    )
    .argument('<roleId>', 'the Zoom role id')
    .requiredOption(
      '--permissions <file>',
      'YAML: resource → list of actions, e.g. "zoom:recording: [read, edit]"',
    )
    .option('--dry-run', 'show the difference and change nothing')
    .option('--json', 'print the plan as JSON')
    .addOption(ctx.configOption())
    .action(async (roleId: string, _opts: unknown, command: Command) => {
      // `--config` may come before or after `push-role` (`zoom` takes it too).
      const opts = command.optsWithGlobals<{
        permissions: string;
        dryRun?: boolean;
        json?: boolean;
        config?: string;
      }>();
      const config = await loadConfig(opts.config);
      const settings = vendorSettings(config.vendors).zoom;
      if (!settings)
        throw new ConfigError(
          'vendors.zoom',
          'Zoom is not configured (vendors.zoom in the config, or ZOOM_* variables)',
        );
      const [mappings, desired] = await Promise.all([
        loadMappings(config.mappings),
        readPermissions(opts.permissions),
      ]);
      const plan = await pushRole(
        createZoomAdapter(settings),
        roleId,
        desired,
        mappings,
        opts.dryRun ? { dryRun: true } : {},
      );
      if (opts.json) io.out(`${JSON.stringify(plan, null, 2)}\n`);
      else {
        const lines = [
          `role ${plan.roleId}${plan.roleName ? ` (${plan.roleName})` : ''}: ${plan.current.length} → ${plural(plan.next.length, 'privilege')}`,
        ];
        for (const p of plan.add) lines.push(`  + ${p}`);
        for (const p of plan.remove) lines.push(`  - ${p}`);
        if (plan.add.length + plan.remove.length === 0) lines.push('  (no change)');
        for (const u of plan.unmapped)
          lines.push(`no Zoom privilege maps to ${u.resource} ${u.action}: not pushed`);
        lines.push(
          plan.applied
            ? 'PATCH /roles/{roleId}: done'
            : plan.unmapped.length
              ? 'nothing sent: fix the permissions above first (a permission is never silently dropped)'
              : opts.dryRun
                ? 'dry run: nothing sent'
                : 'nothing to send',
        );
        io.out(`${lines.map(escapeControls).join('\n')}\n`);
      }
      ctx.setExit(plan.unmapped.length ? 1 : 0);
    });
}

async function readPermissions(file: string): Promise<Permission[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError('--permissions', `cannot read ${file} (${(err as NodeJS.ErrnoException).code})`);
  }
  const parsed = parseYamlSource(text, file, 'the file is empty; write "zoom:recording: [read, edit]" lines');
  if ('problems' in parsed) throw new MappingError(parsed.problems);
  const data = parsed.source.data;
  const bad = () =>
    new ConfigError(
      '--permissions',
      `${file} must map resources to lists of actions, e.g. "zoom:recording: [read, edit]"`,
    );
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw bad();
  const out: Permission[] = [];
  for (const [resource, actions] of Object.entries(data)) {
    if (!Array.isArray(actions) || actions.some((a) => typeof a !== 'string' || a === '')) throw bad();
    for (const action of actions as string[]) out.push({ resource, action });
  }
  return out;
}
