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
    const keys = new Set(summary.findings.map((f) => f.key));
    out.push(
      s.red(
        s.bold(
          `Regressions: ${summary.findings.length} findings on ${keys.size} subsegment${keys.size > 1 ? 's' : ''}`,
        ),
      ),
    );
    // The first finding per key and statistic tells the story; later windows repeat it.
    const firsts = new Map<string, (typeof summary.findings)[number]>();
    for (const f of [...summary.findings].sort((a, b) => a.window_start - b.window_start)) {
      const id = `${f.key}|${f.kind}|${f.statistic}`;
      if (!firsts.has(id)) firsts.set(id, f);
    }
    for (const f of [...firsts.values()].slice(0, 10)) {
      out.push(
        `  ${s.bold(f.kind.toUpperCase())} ${f.statistic} ${s.bold(f.key)}: ${ms(f.baseline_ms)} ms → ${ms(f.current_ms)} ms (×${f.ratio.toFixed(
          2,
        )}, p=${f.p_value.toExponential(1)}, ${f.severity})`,
      );
      out.push(
        `    since ${utc(f.since)} (found in window ${utc(f.window_start)})${f.new_version ? `; new version ${f.new_version}` : ''}`,
      );
      if (f.exemplar_trace_ids.length)
        out.push(`    slow traces:    ${f.exemplar_trace_ids.slice(0, 3).join(' ')}`);
      if (f.baseline_exemplar_trace_ids.length)
        out.push(`    typical before: ${f.baseline_exemplar_trace_ids.slice(0, 3).join(' ')}`);
    }
  }

  out.push('');
  out.push(
    `${s.bold('Lake')} ${options.lake}  (spans/, subsegment_stats/, traces/, regressions/, _rejected/, _state/)`,
  );
  return out.join('\n');
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
