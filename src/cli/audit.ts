// CLI commands for access reviews: who-can (everyone allowed an action on a resource) and what-can
// (everything a subject is allowed), answered from the policy index with the vendor data behind each.

import type { Command } from 'commander';
import { manualClock } from '../clock.js';
import { loadConfig } from '../config.js';
import type { Permit, WhatCanResult, WhoCanResult } from '../engine/access-view.js';
import { type Authorizer, createEngine } from '../engine/authorizer.js';
import { escapeControls, grantText, jsonForTerminal, ruleText } from '../engine/format.js';
import { parseAt } from './at.js';
import type { CommandContext } from './context.js';

/**
 * The authorizer `check` and `explain` use: the config's policies folder, no cache, and a clock
 * pinned to `--at` when given.
 *
 * @throws ConfigError when the config cannot be read or `--at` is not a time.
 */
export async function authorizerFor(opts: { config?: string; at?: string }): Promise<Authorizer> {
  const config = await loadConfig(opts.config);
  let at: number | undefined;
  if (opts.at !== undefined) {
    at = parseAt(opts.at); // a zone is required, as for check and explain
  }
  return createEngine({
    policies: config.policies,
    cache: false,
    ...(at !== undefined ? { clock: manualClock(at) } : {}),
  });
}

export function registerAuditCommands(program: Command, ctx: CommandContext): void {
  const { io } = ctx;

  program
    .command('who-can')
    .description(
      'list everyone allowed ACTION on RESOURCE, with the role path, rule, vendor value and mapping line',
    )
    .argument('<resource>', 'e.g. zoom:recording, vonage:group:<id>, tuya:permission:<id>')
    .argument('<action>', 'e.g. read, edit, write, use')
    .addOption(ctx.configOption())
    .option('--at <time>', 'answer for this ISO-8601 time instead of now')
    .option('--json', 'print the answer as JSON')
    .action(
      async (resource: string, action: string, opts: { config?: string; at?: string; json?: boolean }) => {
        const authz = await authorizerFor(opts);
        const answer = authz.whoCan(resource, action);
        // The library lists subjects in the order it reaches them; people read them sorted.
        const result = {
          ...answer,
          subjects: [...answer.subjects].sort((p, q) => byCodeUnits(p.subject, q.subject)),
        };
        io.out(opts.json ? `${jsonForTerminal(result)}\n` : formatWhoCan(result));
        ctx.setExit(0);
      },
    );

  program
    .command('what-can')
    .description(
      'list every (resource, action) USER is allowed, with the role path, rule, vendor value and mapping line',
    )
    .argument(
      '<user>',
      'subject: a person id, or email:<email> / <vendor>:<id> for an account no person is linked to',
    )
    .addOption(ctx.configOption())
    .option('--at <time>', 'answer for this ISO-8601 time instead of now')
    .option('--prefix <resource-prefix>', 'only resources starting with this, e.g. vonage:group:')
    .option('--json', 'print the answer as JSON')
    .action(async (user: string, opts: { config?: string; at?: string; prefix?: string; json?: boolean }) => {
      const authz = await authorizerFor(opts);
      const result = authz.whatCan(user, opts.prefix !== undefined ? { resourcePrefix: opts.prefix } : {});
      io.out(opts.json ? `${jsonForTerminal(result)}\n` : formatWhatCan(result));
      ctx.setExit(0);
    });
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const holds = (until: string | null) => (until ? `until ${until}` : 'until the policy changes');

/** The lines of one allowing rule: the rule, the role path, the vendor grants (and role links). */
function permitLines(subject: string, p: Permit): string[] {
  const via = p.via.length > 0 ? `  via ${[subject, ...p.via].join(' → ')}` : '';
  const lines = [`    allowed by ${ruleText(p.rule)}${via}`];
  for (const g of p.grants) lines.push(`      grant: ${grantText(g)}`);
  for (const l of p.links ?? [])
    for (const g of l.from)
      lines.push(`      role:  ${l.member} → ${l.role}  from ${g.vendor} ${g.source ?? ''}`.trimEnd());
  return lines;
}

/** who-can for people; every value is printed through escapeControls. */
export function formatWhoCan(r: WhoCanResult): string {
  const n = r.subjects.length;
  const lines = [
    n === 0
      ? `nobody can ${r.action} on ${r.resource}  (at ${r.at})`
      : `who can ${r.action} on ${r.resource}  (at ${r.at}): ${n} ${n === 1 ? 'subject' : 'subjects'}${r.includesRoles ? '' : ' (roles are not listed; they show in "via")'}`,
  ];
  for (const s of r.subjects) {
    lines.push(`  ${s.subject}  ${holds(s.until)}`);
    for (const p of s.allowedBy) lines.push(...permitLines(s.subject, p));
  }
  // The fixed text has no control characters, so escaping whole lines escapes exactly the values.
  return `${lines.map(escapeControls).join('\n')}\n`;
}

/** what-can for people; every value is printed through escapeControls. */
export function formatWhatCan(r: WhatCanResult): string {
  const n = r.permissions.length;
  const scope = r.resourcePrefix ? ` on resources starting with ${JSON.stringify(r.resourcePrefix)}` : '';
  const lines = [
    n === 0
      ? `${r.subject} is allowed nothing${scope}  (at ${r.at})`
      : `what ${r.subject} can do${scope}  (at ${r.at}): ${n} ${n === 1 ? 'permission' : 'permissions'}`,
  ];
  for (const p of r.permissions) {
    lines.push(`  ${p.action} on ${p.resource}  ${holds(p.until)}`);
    for (const a of p.allowedBy) lines.push(...permitLines(r.subject, a));
  }
  return `${lines.map(escapeControls).join('\n')}\n`;
}
