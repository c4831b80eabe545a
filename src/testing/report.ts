// Reporters for policy test runs: spec (people), json (machines), junit (CI dashboards).
import { escapeControls, formatDecision } from '../engine/format.js';
import type { Check, RunResult } from './run.js';

export type Reporter = 'spec' | 'json' | 'junit';
export const REPORTERS: readonly Reporter[] = ['spec', 'json', 'junit'];

export function report(result: RunResult, reporter: Reporter): string {
  if (reporter === 'json') return `${JSON.stringify(toJson(result), null, 2)}\n`;
  if (reporter === 'junit') return junit(result);
  return spec(result);
}

/** What went wrong in one check, with the explanation of the decision, for people. */
export function describeFailure(f: Check): string {
  const why = f.listed ? '' : ' (not listed in the test, so expected deny)';
  const head = escapeControls(
    `${f.principal} ${f.action} ${f.resource}: expected ${f.expected}${why}, got ${f.actual}`,
  );
  const explanation = formatDecision(f.decision)
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
  return `${head}\n${explanation}`;
}

function spec(result: RunResult): string {
  // Names, files and reasons come from suite files: printed through escapeControls, like decisions.
  const e = escapeControls;
  const out: string[] = [];
  for (const s of result.suites) {
    out.push(`${e(s.name)}  (${e(s.file)})`);
    for (const c of s.cases) {
      if (c.status === 'pass') out.push(`  ✔ ${e(c.name)}`);
      else if (c.status === 'skip') out.push(`  - ${e(c.name)}  # skipped: ${e(c.skipReason ?? '')}`);
      else {
        out.push(`  ✖ ${e(c.name)}  (${e(s.file)}:${c.line})`);
        for (const f of c.failures)
          out.push(
            describeFailure(f)
              .split('\n')
              .map((l) => `      ${l}`)
              .join('\n'),
          );
      }
    }
    out.push(`  policy rules exercised: ${s.rules.exercised} of ${s.rules.total}`);
  }
  out.push(`\n${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped`);
  return `${out.join('\n')}\n`;
}

function toJson(result: RunResult) {
  return {
    passed: result.passed,
    failed: result.failed,
    skipped: result.skipped,
    suites: result.suites.map((s) => ({
      file: s.file,
      name: s.name,
      rules: s.rules,
      cases: s.cases.map((c) => ({
        name: c.name,
        line: c.line,
        status: c.status,
        ...(c.skipReason !== undefined ? { skipReason: c.skipReason } : {}),
        checks: c.checks,
        failures: c.failures,
      })),
    })),
  };
}

function junit(result: RunResult): string {
  const x = (s: string) =>
    s.replace(/[<>&"']/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c]};`);
  const total = result.passed + result.failed + result.skipped;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="rbac-normalizer" tests="${total}" failures="${result.failed}" skipped="${result.skipped}">`,
  ];
  for (const s of result.suites) {
    const fails = s.cases.filter((c) => c.status === 'fail').length;
    const skips = s.cases.filter((c) => c.status === 'skip').length;
    lines.push(
      `  <testsuite name="${x(s.name)}" file="${x(s.file)}" tests="${s.cases.length}" failures="${fails}" skipped="${skips}">`,
    );
    for (const c of s.cases) {
      const open = `    <testcase classname="${x(s.name)}" name="${x(c.name)}" file="${x(s.file)}" line="${c.line}"`;
      if (c.status === 'pass') lines.push(`${open}/>`);
      else if (c.status === 'skip')
        lines.push(`${open}><skipped message="${x(c.skipReason ?? '')}"/></testcase>`);
      else {
        const msg = `${c.failures.length} decision(s) not as expected`;
        lines.push(
          `${open}><failure message="${x(msg)}">${x(c.failures.map(describeFailure).join('\n\n'))}</failure></testcase>`,
        );
      }
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
