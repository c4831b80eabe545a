import type { Decision } from './authorizer.js';

/** A decision for people: verdict, rule, role path, vendor values and mapping lines, validity. */
export function formatDecision(d: Decision): string {
  const lines: string[] = [];
  lines.push(`${d.allowed ? 'ALLOW' : 'DENY'}  ${d.subject} → ${d.action} on ${d.resource}  (at ${d.at})`);
  if (d.error) lines.push(`  error: ${d.error} (denied: fail closed)`);
  if (d.reason === 'no-matching-rule') lines.push('  no rule grants this (default deny)');
  if (d.rule) {
    const r = d.rule;
    const window = r.from || r.until ? `  window [${r.from || '-∞'}, ${r.until || '+∞'})` : '';
    lines.push(`  rule:  p, ${r.sub}, ${r.obj}, ${r.act}, ${r.eft}${window}`);
    if (d.via && d.via.length > 1) lines.push(`  via:   ${d.via.join(' → ')}`);
    for (const l of d.links ?? []) {
      for (const p of l.from)
        lines.push(`  role:  ${l.member} → ${l.role}  from ${p.vendor} ${p.source ?? ''}`.trimEnd());
    }
    for (const g of d.grants ?? []) {
      const mapping = g.mapping ? `  mapped by ${g.mapping.file}:${g.mapping.line}` : '';
      lines.push(`  grant: ${g.vendor} ${g.kind} ${g.raw}  held by ${g.holder}${mapping}`);
      if (g.source) lines.push(`         from ${g.source}`);
    }
  }
  for (const h of d.stale ?? [])
    lines.push(
      `  STALE: ${h.vendor} ${h.holder} could not be fetched (${h.error}); rules kept from ${h.lastSuccess ?? 'an earlier run'}`,
    );
  lines.push(
    `  holds: ${d.validFrom ? `from ${d.validFrom} ` : ''}${d.validUntil ? `until ${d.validUntil}` : 'until the policy changes'}`,
  );
  return `${lines.join('\n')}\n`;
}
