/** Prints a `RunSummary` for people (aligned tables) or machines (`--json`). */
import type { RunSummary } from '../pipeline/run.js';
import { int, ms, type Style, table, utc } from './format.js';

export interface SummaryOptions {
  readonly lake: string;
  readonly top?: number;
  readonly style: Style;
}

/** The human summary: counts, rejected documents, top subsegments by p99, findings, where the lake is. */
export function formatSummary(summary: RunSummary, options: SummaryOptions): string {
  const s = options.style;
  const out: string[] = [];
  const windows = summary.windows;
  const span = windows.length ? `${utc(windows[0]!)} → ${utc(windows[windows.length - 1]!)}` : 'no windows';
  out.push(
    `${s.bold('Processed')} ${int(summary.traces)} traces, ${int(summary.spans)} spans, ${int(summary.keys)} keys in ${
      windows.length
    } windows (${span}) in ${(summary.elapsedMs / 1000).toFixed(1)} s`,
  );
  const notes: string[] = [];
  if (summary.inProgress) notes.push(`${int(summary.inProgress)} in-progress spans left out`);
  if (summary.ignored) notes.push(`${int(summary.ignored)} non-trace documents ignored`);
  if (summary.outOfRange) notes.push(`${int(summary.outOfRange)} traces outside the range`);
  if (summary.splitTraces)
    notes.push(`${int(summary.splitTraces)} traces flushed early (loose-span buffer full)`);
  if (notes.length) out.push(`          ${notes.join('; ')}`);

  if (summary.rejected) {
    out.push('');
    out.push(
      `${s.yellow(s.bold('Rejected'))} ${int(summary.rejected)} documents (set aside${
        summary.rejectedKey ? ` in ${joinLake(options.lake, summary.rejectedKey)}` : ''
      }; everything else was processed):`,
    );
    for (const r of summary.rejections.slice(0, 8)) {
      const where = [
        r.location.source,
        r.location.line ? `line ${r.location.line}` : '',
        r.location.pointer ?? '',
      ]
        .filter(Boolean)
        .join(' ');
      out.push(`  ${s.dim(where)}`);
      out.push(`    ${r.reason}`);
    }
    if (summary.rejected > 8) out.push(`  … and ${int(summary.rejected - 8)} more`);
  }

  const top = [...summary.keySummaries]
    .filter((k) => k.count >= 20)
    .sort((a, b) => b.p99 - a.p99)
    .slice(0, options.top ?? 12);
  if (top.length) {
    out.push('');
    out.push(s.bold('Slowest subsegments by p99 (whole run, keys with ≥ 20 spans)'));
    out.push(
      table(
        ['KEY', 'COUNT', 'P50 ms', 'P99 ms', 'MAX ms', 'ERR', 'FAULT', 'THROT'],
        top.map((k) => [
          k.key,
          int(k.count),
          ms(k.p50),
          ms(k.p99),
          ms(k.max),
          int(k.errors),
          int(k.faults),
          int(k.throttles),
        ]),
        s,
      ),
    );
  }

  out.push('');
  if (summary.findings.length === 0) {
    out.push(`${s.green('No regressions')} found.`);
  } else {
    out.push(...formatFindings(summary.findings, s));
  }

  out.push('');
  out.push(
    `${s.bold('Lake')} ${options.lake}  (spans/, subsegment_stats/, traces/, regressions/, _rejected/, _state/)`,
  );
  return out.join('\n');
}

type Finding = RunSummary['findings'][number];

/**
 * Findings grouped by root cause: for each key that is not explained by a slower call below it,
 * its step and drift changes (first window each), when it started, the traces on both sides, and
 * the callers that slowed down because of it. Later windows repeating a finding are not repeated.
 */
export function formatFindings(findings: readonly Finding[], s: Style): string[] {
  const byTime = [...findings].sort((a, b) => a.window_start - b.window_start || (a.key < b.key ? -1 : 1));
  const roots = new Map<string, Finding[]>();
  const consequences = new Map<string, Set<string>>();
  for (const f of byTime) {
    const cause = f.explained_by ?? null;
    if (cause && cause !== f.key) {
      let set = consequences.get(cause);
      if (!set) {
        set = new Set();
        consequences.set(cause, set);
      }
      set.add(f.key);
      continue;
    }
    const list = roots.get(f.key) ?? [];
    if (!list.some((g) => g.kind === f.kind && g.statistic === f.statistic)) list.push(f);
    roots.set(f.key, list);
  }
  // A key that is a root cause in one window and a consequence in another is listed as a root cause.
  for (const key of roots.keys()) {
    for (const set of consequences.values()) set.delete(key);
  }
  const keys = new Set(findings.map((f) => f.key));
  const out: string[] = [
    s.red(
      s.bold(
        `Regressions: ${roots.size} root cause${roots.size === 1 ? '' : 's'} (${findings.length} findings on ${keys.size} keys)`,
      ),
    ),
  ];
  const ordered = [...roots.entries()].sort(
    (a, b) => Math.max(...b[1].map((f) => f.ratio)) - Math.max(...a[1].map((f) => f.ratio)),
  );
  for (const [key, list] of ordered.slice(0, 8)) {
    const first = list.reduce((a, b) => (b.since < a.since ? b : a));
    const worst = list.reduce((a, b) => (severityRank(b.severity) > severityRank(a.severity) ? b : a));
    out.push(`  ${s.bold(key)}  ${severityStyle(worst.severity, s)}`);
    for (const f of list.sort((a, b) => a.statistic.localeCompare(b.statistic))) {
      out.push(
        `    ${f.kind} ${f.statistic}: ${ms(f.baseline_ms)} → ${ms(f.current_ms)} ms (×${f.ratio.toFixed(2)}, p=${f.p_value.toExponential(1)})`,
      );
    }
    out.push(
      `    since ${utc(first.since)} (found in window ${utc(first.window_start)})${first.new_version ? `; new version ${first.new_version} appeared then` : ''}`,
    );
    if (first.exemplar_trace_ids.length)
      out.push(`    slow traces:    ${first.exemplar_trace_ids.slice(0, 3).join(' ')}`);
    if (first.baseline_exemplar_trace_ids.length)
      out.push(`    typical before: ${first.baseline_exemplar_trace_ids.slice(0, 3).join(' ')}`);
    const callers = [...(consequences.get(key) ?? [])];
    if (callers.length) {
      out.push(
        `    ${s.dim(`slower because of it (${callers.length}): ${callers.slice(0, 6).join(', ')}${callers.length > 6 ? ', …' : ''}`)}`,
      );
    }
  }
  if (ordered.length > 8)
    out.push(`  … and ${ordered.length - 8} more root causes (tracelake query "SELECT * FROM regressions")`);
  return out;
}

function severityRank(severity: string): number {
  return ['low', 'medium', 'high', 'critical'].indexOf(severity);
}

function severityStyle(severity: string, s: Style): string {
  return severity === 'critical' || severity === 'high' ? s.red(severity) : s.yellow(severity);
}

function joinLake(lake: string, key: string): string {
  return `${lake.replace(/\/+$/, '')}/${key}`;
}

/** The summary for `--json`: counts, findings and per-key figures, no sketches. */
export function summaryJson(summary: RunSummary, lake: string): unknown {
  return {
    lake,
    windows: summary.windows.map((w) => new Date(w).toISOString()),
    traces: summary.traces,
    spans: summary.spans,
    keys: summary.keys,
    in_progress: summary.inProgress,
    rejected: summary.rejected,
    rejected_object: summary.rejectedKey,
    rejections: summary.rejections.slice(0, 100),
    ignored: summary.ignored,
    out_of_range: summary.outOfRange,
    elapsed_ms: summary.elapsedMs,
    source: summary.sourceStats,
    findings: summary.findings.map((f) => ({
      ...f,
      window_start: new Date(f.window_start).toISOString(),
      since: new Date(f.since).toISOString(),
    })),
    top_by_p99: [...summary.keySummaries].sort((a, b) => b.p99 - a.p99).slice(0, 20),
    objects_written: summary.objectsWritten.length,
  };
}
