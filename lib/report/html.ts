/**
 * The report as one self-contained HTML page: inline CSS and SVG, no script or font from
 * anywhere else, so it opens offline and can be mailed or attached to a ticket.
 */

import type { FindingGroup, KeyChart, ReportModel, RootCause, ServiceTime } from './model.js';
import { barChart, escapeXml, lineChart, type Marker } from './svg.js';

const COLORS = { p50: '#1f77b4', p90: '#ff7f0e', p99: '#d62728' } as const;
const RATE_COLORS = { error: '#ff7f0e', fault: '#d62728', throttle: '#9467bd' } as const;
const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#76b7b2',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
];
const SEVERITY_COLOR = { low: '#8c8c8c', medium: '#d4a017', high: '#e8590c', critical: '#c92a2a' } as const;
const SEVERITY_RANK = { low: 0, medium: 1, high: 2, critical: 3 } as const;

/** The X-Ray console page of a trace. */
export function xrayTraceUrl(region: string, traceId: string): string {
  const r = encodeURIComponent(region);
  return `https://${r}.console.aws.amazon.com/cloudwatch/home?region=${r}#xray:traces/${encodeURIComponent(traceId)}`;
}

function isoMinute(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function hhmm(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

function num(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return '–';
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(Math.abs(n) < 1 ? Math.max(digits, 2) : digits);
}

function pct(n: number): string {
  if (n === 0) return '0 %';
  return n < 0.001 ? '<0.1 %' : `${(n * 100).toFixed(n < 0.1 ? 2 : 1)} %`;
}

function pValue(p: number): string {
  if (!Number.isFinite(p)) return '–';
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

function seconds(ms: number): string {
  const s = ms / 1000;
  if (s >= 3600) return `${(s / 3600).toFixed(1)} h`;
  if (s >= 100) return `${Math.round(s).toLocaleString('en-US')} s`;
  return `${s.toFixed(s < 10 ? 2 : 1)} s`;
}

function traceLinks(model: ReportModel, ids: readonly string[], limit: number): string {
  if (ids.length === 0) return '<span class="muted">–</span>';
  const links = ids
    .slice(0, limit)
    .map(
      (id) =>
        `<a class="trace" href="${escapeXml(xrayTraceUrl(model.region, id))}" target="_blank" rel="noopener">${escapeXml(id)}</a>`,
    );
  const more = ids.length > limit ? ` <span class="muted">+${ids.length - limit}</span>` : '';
  return links.join('<br>') + more;
}

function keyChart(model: ReportModel, chart: KeyChart): string {
  // One marker per onset; findings of several statistics with the same onset share it.
  const bySince = new Map<number, FindingGroup[]>();
  for (const f of chart.findings) bySince.set(f.since, [...(bySince.get(f.since) ?? []), f]);
  const markers: Marker[] = [...bySince]
    .sort((a, b) => a[0] - b[0])
    .map(([since, fs]) => {
      const worst = fs.reduce((a, b) => (SEVERITY_RANK[b.severity] > SEVERITY_RANK[a.severity] ? b : a));
      const stats = [...fs]
        .sort((a, b) => a.statistic.localeCompare(b.statistic))
        .map((f) => `${f.statistic} ×${f.ratio.toFixed(2)}`);
      return {
        x: since,
        toX: Math.min(...fs.map((f) => f.firstWindow)) + model.windowMs,
        color: SEVERITY_COLOR[worst.severity],
        label: `onset ${hhmm(since)} · ${stats.join(', ')}`,
      };
    });
  const domain: [number, number] | undefined = model.extent ? [model.extent[0], model.extent[1]] : undefined;
  // p99 often sits an order of magnitude above p50; a log axis keeps a p50 change visible.
  const lows = chart.points.map((p) => p.p50).filter((v) => v > 0);
  const spread = lows.length ? Math.max(...chart.points.map((p) => p.p99)) / Math.min(...lows) : 1;
  const svg = lineChart({
    title: `${chart.key}: p50, p90, p99 per window`,
    yUnit: 'ms',
    yScale: spread > 10 ? 'log' : 'linear',
    xDomain: domain,
    maxGap: model.windowMs * 1.5,
    markers,
    series: (['p50', 'p90', 'p99'] as const).map((s) => ({
      label: s,
      color: COLORS[s],
      width: s === 'p99' ? 2.25 : 1.5,
      points: chart.points.map((p) => ({ x: p.t, y: p[s] })),
    })),
    hover: chart.points.map((p) => ({
      x: p.t,
      title: `${isoMinute(p.t)}\n${p.count.toLocaleString('en-US')} spans\np50 ${num(p.p50)} ms · p90 ${num(p.p90)} ms · p99 ${num(p.p99)} ms`,
    })),
    attributes: `data-key="${escapeXml(chart.key)}"`,
  });
  const tags = chart.reasons
    .map((r) => {
      if (r === 'busiest') return '<span class="tag busiest">busiest</span>';
      if (chart.explainedBy !== null) return '<span class="tag consequence">consequence</span>';
      return `<span class="tag degraded">${chart.findings.length ? 'regression' : 'slower'}</span>`;
    })
    .join(' ');
  const cause =
    chart.explainedBy !== null
      ? `<br><span class="because">slower because of <span class="key">${escapeXml(chart.explainedBy)}</span></span>`
      : chart.explains > 0
        ? `<br><span class="explains">root cause: explains ${keys(chart.explains)}</span>`
        : '';
  const change =
    Number.isFinite(chart.degradation) && Math.abs(Math.log(chart.degradation)) >= Math.log(1.1)
      ? ` · p99 late/early ×${chart.degradation.toFixed(2)}`
      : '';
  return `<figure class="card" data-chart-key="${escapeXml(chart.key)}">
<figcaption><span class="key">${escapeXml(chart.key)}</span> ${tags}${cause}<br><span class="muted">${chart.count.toLocaleString(
    'en-US',
  )} spans in ${chart.points.length} windows${change}</span></figcaption>
${svg}
</figure>`;
}

function keys(n: number): string {
  return `${n} key${n === 1 ? '' : 's'}`;
}

function findingRow(model: ReportModel, f: FindingGroup, cause: RootCause, first: boolean): string {
  const sameDay =
    new Date(f.firstWindow).toISOString().slice(0, 10) === new Date(f.lastWindow).toISOString().slice(0, 10);
  const windows =
    f.windows > 1
      ? `${isoMinute(f.firstWindow)}<br><span class="muted">to ${sameDay ? `${hhmm(f.lastWindow)} UTC` : isoMinute(f.lastWindow)}, ${f.windows} windows</span>`
      : isoMinute(f.firstWindow);
  const explained = new Set(cause.consequences.map((c) => c.key)).size;
  const note =
    f.explainedBy !== null
      ? `<br><span class="because">slower because of <span class="key">${escapeXml(f.explainedBy)}</span></span>`
      : first && explained > 0
        ? `<br><span class="explains">root cause: explains ${keys(explained)}</span>`
        : '';
  const version = f.newVersion ? `<br><span class="muted">new version ${escapeXml(f.newVersion)}</span>` : '';
  const attrs =
    f.explainedBy !== null ? ` class="consequence" data-explained-by="${escapeXml(f.explainedBy)}"` : '';
  return `<tr data-key="${escapeXml(f.key)}" data-statistic="${f.statistic}"${attrs}>
<td><span class="sev" style="background:${SEVERITY_COLOR[f.severity]}">${f.severity}</span></td>
<td class="key">${escapeXml(f.key)}${version}${note}</td>
<td>${f.kind} ${f.statistic}</td>
<td class="num">${num(f.baselineMs)} → ${num(f.currentMs)}</td>
<td class="num ratio">×${f.ratio.toFixed(2)}</td>
<td class="num">${pValue(f.pValue)}</td>
<td class="since">${isoMinute(f.since)}</td>
<td class="found">${windows}</td>
<td class="ids"><span class="muted">slow now</span><br>${traceLinks(model, f.exemplarTraceIds, 3)}<br><span class="muted">typical before</span><br>${traceLinks(model, f.baselineTraceIds, 2)}</td>
</tr>`;
}

function findingsTable(model: ReportModel): string {
  if (model.findings.length === 0) {
    return '<p class="ok" id="no-findings">No regressions were found in this range.</p>';
  }
  // One body per root cause: its own findings, then the findings it explains, indented under it.
  const bodies = model.causes.map((c) => {
    const head = c.findings.length
      ? ''
      : `<tr class="cause-head"><td colspan="9"><span class="key">${escapeXml(c.key)}</span> <span class="muted">root cause without findings of its own in this range; explains ${keys(new Set(c.consequences.map((f) => f.key)).size)}</span></td></tr>\n`;
    const rows = [
      ...c.findings.map((f, i) => findingRow(model, f, c, i === 0)),
      ...c.consequences.map((f) => findingRow(model, f, c, false)),
    ];
    return `<tbody class="cause" data-root="${escapeXml(c.key)}">
${head}${rows.join('\n')}
</tbody>`;
  });
  return `<div class="scroll"><table id="findings" class="data">
<thead><tr><th>severity</th><th>key</th><th>finding</th><th class="num">baseline → now, ms</th><th class="num">ratio</th><th class="num">p-value</th><th>since (onset)</th><th>found in</th><th>traces (X-Ray console)</th></tr></thead>
${bodies.join('\n')}
</table></div>`;
}

function serviceBlock(s: ServiceTime, all: number, colorOf: (label: string) => string): string {
  const bars = s.parts.map((p) => ({
    label: p.label.startsWith('[') ? `own code ${p.label}` : p.label,
    value: p.totalMs,
    text: `${seconds(p.totalMs)} · ${pct(s.totalMs ? p.totalMs / s.totalMs : 0)}`,
    color: colorOf(p.label),
  }));
  return `<div class="card service" data-service="${escapeXml(s.service)}">
<h3>${escapeXml(s.service)} <span class="muted">${seconds(s.totalMs)} · ${pct(all ? s.totalMs / all : 0)} of all</span></h3>
${barChart(bars, { max: s.parts[0]?.totalMs ?? 0, title: `where time goes in ${s.service}` })}
</div>`;
}

function timeSection(model: ReportModel): string {
  if (model.services.length === 0) return '<p class="muted">No spans or statistics in this range.</p>';
  const all = model.services.reduce((n, s) => n + s.totalMs, 0);
  const colors = new Map<string, string>();
  const colorOf = (label: string) => {
    if (label.startsWith('[')) return '#bab0ac';
    let c = colors.get(label);
    if (!c) {
      c = PALETTE[colors.size % PALETTE.length]!;
      colors.set(label, c);
    }
    return c;
  };
  const note =
    model.timeSource === 'spans'
      ? '<p class="source" id="time-source" data-source="spans">Self time from the <code>spans</code> table: each span\'s duration minus the time covered by its own subsegments, summed. Per service, the parts add up to the time its segments took; a call to another service counts as the caller\'s wait.</p>'
      : '<p class="source approx" id="time-source" data-source="stats">Approximation from <code>subsegment_stats</code> (no <code>spans</code> in this range): mean duration × count per key. Nested time is counted in each enclosing subsegment as well, so the parts of a service may add up to more than its segments took.</p>';
  return `${note}<div class="grid">${model.services.map((s) => serviceBlock(s, all, colorOf)).join('\n')}</div>`;
}

function ratesSection(model: ReportModel): string {
  const parts: string[] = [];
  if (model.ratesOverTime.length >= 2) {
    const domain: [number, number] | undefined = model.extent
      ? [model.extent[0], model.extent[1]]
      : undefined;
    parts.push(
      `<figure class="card wide">${lineChart({
        title: 'Error, fault and throttle rates of all segments per window',
        yUnit: '%',
        xDomain: domain,
        maxGap: model.windowMs * 1.5,
        width: 1100,
        height: 220,
        series: [
          {
            label: 'error (4xx)',
            color: RATE_COLORS.error,
            points: model.ratesOverTime.map((p) => ({ x: p.t, y: p.errorRate * 100 })),
          },
          {
            label: 'fault (5xx)',
            color: RATE_COLORS.fault,
            points: model.ratesOverTime.map((p) => ({ x: p.t, y: p.faultRate * 100 })),
          },
          {
            label: 'throttle (429)',
            color: RATE_COLORS.throttle,
            points: model.ratesOverTime.map((p) => ({ x: p.t, y: p.throttleRate * 100 })),
          },
        ],
        hover: model.ratesOverTime.map((p) => ({
          x: p.t,
          title: `${isoMinute(p.t)}\n${p.requests.toLocaleString('en-US')} segments\nerror ${pct(p.errorRate)} · fault ${pct(p.faultRate)} · throttle ${pct(p.throttleRate)}`,
        })),
        attributes: 'data-chart="rates"',
      })}<figcaption class="muted">Segments only: the requests each service served.</figcaption></figure>`,
    );
  }
  if (model.rates.length === 0) {
    parts.push('<p class="ok">No errors, faults or throttles in this range.</p>');
  } else {
    const rows = model.rates.slice(0, 25).map(
      (
        r,
      ) => `<tr><td class="key">${escapeXml(r.key)}</td><td class="num">${r.requests.toLocaleString('en-US')}</td>
<td class="num">${pct(r.errors / r.requests)}</td><td class="num">${pct(r.faults / r.requests)}</td><td class="num">${pct(r.throttles / r.requests)}</td></tr>`,
    );
    parts.push(`<table id="rates" class="data"><thead><tr><th>key</th><th class="num">requests</th><th class="num">error</th><th class="num">fault</th><th class="num">throttle</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>${model.rates.length > 25 ? `<p class="muted">… and ${model.rates.length - 25} more keys.</p>` : ''}`);
  }
  return parts.join('\n');
}

const CSS = `
:root{color-scheme:light;--fg:#1d1f23;--muted:#6b7280;--line:#e5e7eb;--bg:#f7f7f8}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#14213d;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:20px}
header .meta{opacity:.85;font-size:13px}
main{padding:8px 28px 40px;max-width:1480px}
h2{margin:28px 0 10px;font-size:17px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{margin:0 0 6px;font-size:14px}
.tiles{display:flex;gap:12px;flex-wrap:wrap;margin-top:16px}
.tile{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:120px}
.tile b{display:block;font-size:20px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:14px}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px 12px;margin:0}
.card.wide{width:100%}
figcaption{font-size:13px;margin-bottom:4px}
.key{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;overflow-wrap:anywhere}
td.key{min-width:230px}
.muted{color:var(--muted)}
.tag{font-size:11px;border-radius:3px;padding:1px 5px;color:#fff;background:#6b7280}
.tag.degraded{background:#c92a2a}
.tag.busiest{background:#1f77b4}
.tag.consequence{background:#9ca3af}
.because{font-size:12px;color:#6b7280}
.because .key{font-size:11.5px;color:#374151;font-weight:600}
.explains{font-size:12px;color:#c92a2a;font-weight:600}
tbody.cause{border-top:2px solid #d1d5db}
tr.consequence td{background:#fafafa;color:#4b5563}
tr.consequence td.key{padding-left:26px;position:relative}
tr.consequence td.key::before{content:"↳";position:absolute;left:9px;color:#9ca3af}
tr.consequence .sev{opacity:.6}
tr.cause-head td{background:#fff7ed}
svg{width:100%;height:auto;display:block}
svg text{font-size:11px;fill:#4b5563;font-family:inherit}
svg .grid{stroke:#eef0f3}
svg .axis{stroke:#9ca3af}
svg .marker{stroke-width:1.5;stroke-dasharray:5 3}
svg .marker-label{font-size:11px;font-weight:600}
svg .band{opacity:.08}
svg .hover{fill:transparent}
svg .hover:hover{fill:rgba(0,0,0,.05)}
table.data{border-collapse:collapse;background:#fff;border:1px solid var(--line);font-size:13px;width:100%}
table.data th,table.data td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
table.data th{background:#f3f4f6;font-weight:600;white-space:nowrap}
table.data .num{text-align:right;white-space:nowrap}
.ratio{font-weight:600}
.scroll{overflow-x:auto}
td.since,td.found{white-space:nowrap}
.sev{color:#fff;border-radius:3px;padding:1px 6px;font-size:12px}
.ids a.trace{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11.5px;color:#1d4ed8;text-decoration:none;white-space:nowrap}
.ids a.trace:hover{text-decoration:underline}
.ok{color:#2f7d32}
.source{font-size:13px;color:#374151;max-width:980px}
.source.approx{border-left:3px solid #d4a017;padding-left:8px}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
footer{color:var(--muted);font-size:12px;padding:0 28px 24px}
`;

/**
 * The whole report page.
 *
 * @example
 * const html = renderReport(buildReportModel(input));
 * // '<!doctype html><html lang="en">…' — no external URL other than the X-Ray console links
 */
export function renderReport(model: ReportModel): string {
  const range = model.range
    ? `${isoMinute(model.range.fromMs)} → ${isoMinute(model.range.toMs)}`
    : model.extent
      ? `${isoMinute(model.extent[0])} → ${isoMinute(model.extent[1])}`
      : 'no data';
  const degraded = model.charts.filter((c) => c.reasons.includes('degraded'));
  const busiest = model.charts.filter((c) => !c.reasons.includes('degraded'));
  const { rootCauses, keysWithFindings } = model.totals;
  const charts = (list: readonly KeyChart[], empty: string) =>
    list.length
      ? `<div class="grid">${list.map((c) => keyChart(model, c)).join('\n')}</div>`
      : `<p class="muted">${empty}</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tracelake report — ${escapeXml(range)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>tracelake report</h1>
<div class="meta">${escapeXml(range)} · lake <code>${escapeXml(model.lake)}</code> · generated ${isoMinute(model.generatedAtMs)}</div>
</header>
<main>
<div class="tiles">
<div class="tile"><b>${model.totals.windows.toLocaleString('en-US')}</b>windows of ${Math.round(model.windowMs / 60_000)} min</div>
<div class="tile"><b>${model.totals.segmentSpans.toLocaleString('en-US')}</b>segments</div>
<div class="tile"><b>${model.totals.keys.toLocaleString('en-US')}</b>keys</div>
<div class="tile" id="finding-count"><b id="root-cause-count">${rootCauses}</b>${
    keysWithFindings
      ? `root cause${rootCauses === 1 ? '' : 's'} (${keys(keysWithFindings)} with findings)`
      : 'regressions'
  }</div>
</div>
<section id="degraded">
<h2>Most degraded</h2>
${charts(degraded, 'Nothing got slower in this range.')}
</section>
<section id="findings-section">
<h2>Findings</h2>
${findingsTable(model)}
<p class="muted">Root causes first. Indented under each one are the keys that got slower because of it: findings in the same window on callers of it (and on its own segment as the called service sees it) whose increase it accounts for. One row per key, test and statistic; the onset is the estimated start of the change. Trace IDs open in the X-Ray console (${escapeXml(model.region)}).</p>
</section>
<section id="busiest">
<h2>Busiest subsegments</h2>
${charts(busiest, 'The busiest subsegments are charted above.')}
</section>
<section id="time">
<h2>Where time goes, per service</h2>
${timeSection(model)}
</section>
<section id="errors">
<h2>Errors, faults and throttles</h2>
${ratesSection(model)}
</section>
</main>
<footer>Percentiles come from mergeable sketches with at most 1 % relative error. Times are UTC.</footer>
</body>
</html>
`;
}
