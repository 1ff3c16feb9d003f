/** `tracelake report`: one self-contained HTML page with charts from a local or S3 lake. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { openLake } from '../adapters/lake.js';
import { parseTime } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import { makeReport } from '../report/make.js';
import type { ReportModel } from '../report/model.js';
import { int, makeStyle, ProgressLine, type Style, utc } from './format.js';
import type { CommandContext } from './main.js';
import { parseFlags } from './main.js';
import { resolveLocalLake } from './query.js';

const USAGE = `Usage: tracelake report [options]

Writes one HTML page (no network needed to open it) with: p50/p90/p99 over time of the most
degraded and the busiest subsegments, regressions marked at their onset, a findings table with
trace IDs linked to the X-Ray console, where time goes per service, and error, fault and throttle
rates.

Options:
  --lake <dir | s3://bucket/prefix>   the lake (default ./tracelake-demo/lake when it exists)
  --from <time>      first window to include (ISO 8601, epoch ms or now-24h; default: all)
  --to <time>        end of the range, exclusive (default: all)
  --region <region>  region of the X-Ray console links (default $AWS_REGION, else us-east-1)
  --out <file>       where to write the page (default report.html)
  --json             print what was written as JSON
  -h, --help         this help`;

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** One line about a written report. */
export function reportLine(model: ReportModel, out: string, style: Style): string {
  const span = model.extent ? `${utc(model.extent[0])} → ${utc(model.extent[1])}` : 'no data';
  const { rootCauses, keysWithFindings } = model.totals;
  const found = model.findings.length
    ? style.red(
        `${rootCauses} root cause${rootCauses === 1 ? '' : 's'} (${keysWithFindings} key${keysWithFindings === 1 ? '' : 's'} with findings)`,
      )
    : style.green('no regressions');
  return `${style.bold('Report')} ${out}  (${model.charts.length} charts, ${found}, ${int(model.totals.windows)} windows, ${span})`;
}

export function reportJson(model: ReportModel, out: string): unknown {
  return {
    out,
    lake: model.lake,
    from: model.extent ? new Date(model.extent[0]).toISOString() : null,
    to: model.extent ? new Date(model.extent[1]).toISOString() : null,
    windows: model.totals.windows,
    keys: model.totals.keys,
    charts: model.charts.map((c) => ({ key: c.key, reasons: c.reasons, windows: c.points.length })),
    findings: model.findings.map((f) => ({
      key: f.key,
      kind: f.kind,
      statistic: f.statistic,
      severity: f.severity,
      ratio: f.ratio,
      p_value: f.pValue,
      since: new Date(f.since).toISOString(),
      exemplar_trace_ids: f.exemplarTraceIds,
    })),
    time_source: model.timeSource,
  };
}

export const reportCommand = {
  usage: USAGE,
  async run(args: string[], ctx: CommandContext): Promise<number> {
    const { values, positionals } = parseFlags(args, {
      lake: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      region: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (positionals.length) throw new ConfigError(`unexpected argument "${positionals[0]}"`);
    const now = Date.now();
    const time = (flag: string, v: string | undefined) => {
      if (v === undefined) return undefined;
      const t = parseTime(v, now);
      if (t === null)
        throw new ConfigError(`--${flag} "${v}": expected ISO 8601, epoch ms or now-<duration>`);
      return t;
    };
    const from = time('from', values.from);
    const to = time('to', values.to);
    if (from !== undefined && to !== undefined && to <= from)
      throw new ConfigError(`--to "${values.to}" is not after --from "${values.from}"`);
    const range =
      from === undefined && to === undefined
        ? null
        : { fromMs: from ?? 0, toMs: to ?? Number.MAX_SAFE_INTEGER };
    const region = values.region ?? ctx.env.AWS_REGION ?? ctx.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    if (!REGION.test(region))
      throw new ConfigError(`--region "${region}": expected a region such as us-east-1`);
    const out = resolve(ctx.cwd, values.out ?? 'report.html');

    const progress = new ProgressLine(ctx.stderr);
    const lake =
      values.lake?.startsWith('s3://') === true
        ? { store: openLake(values.lake, ctx.env) }
        : { dir: resolveLocalLake(ctx, values.lake) };
    const { html, model } = await makeReport(lake, {
      range,
      region,
      nowMs: now,
      progress: values.json
        ? undefined
        : (done, total) => {
            const bar = '#'.repeat(Math.floor((20 * done) / Math.max(1, total))).padEnd(20, '.');
            progress.update(`[${bar}] ${int(done)}/${int(total)} lake objects copied`);
          },
    });
    progress.done();
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, html);
    const shown = relative(ctx.cwd, out).startsWith('..') ? out : relative(ctx.cwd, out);
    if (values.json) ctx.stdout.write(`${JSON.stringify(reportJson(model, out), null, 2)}\n`);
    else ctx.stdout.write(`${reportLine(model, shown, makeStyle(Boolean(ctx.stdout.isTTY), ctx.env))}\n`);
    return 0;
  },
};
