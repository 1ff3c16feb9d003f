/** `tracelake run` and `tracelake backfill`. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EmfMetricSink } from '../adapters/emf-sink.js';
import { FileSource } from '../adapters/file-source.js';
import { JsonLinesLog } from '../adapters/json-log.js';
import { LocalObjectStore } from '../adapters/local-store.js';
import { parseDuration, parseTime } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import { DEFAULT_WINDOW_MS } from '../core/model.js';
import type { LogSink, MetricSink, ObjectStore, TraceSource } from '../core/ports.js';
import { silentLog } from '../core/ports.js';
import { type RunSummary, runPipeline } from '../pipeline/run.js';
import { int, makeStyle, ProgressLine } from './format.js';
import type { CommandContext } from './main.js';
import { parseFlags } from './main.js';
import { formatSummary, summaryJson } from './summary.js';

const RUN_USAGE = `Usage: tracelake run --source <path | xray> --lake <dir | s3://bucket/prefix> [options]

Reads X-Ray documents (BatchGetTraces responses, traces, segment documents; .json, .ndjson,
.jsonl, optionally .gz; a folder is searched recursively) or OpenTelemetry spans (OTLP JSON,
aws/spans events), or the X-Ray API for a time range, and writes the lake.

Options:
  --source <path|xray>     input file or folder, or "xray" for the X-Ray API (needs --from)
  --lake <dir|s3://…>      the lake: a local folder or an S3 prefix
  --from <time>            start of the range (ISO 8601, epoch ms, now-3h); required for xray
  --to <time>              end of the range (exclusive; default: now minus --lag for xray)
  --window <duration>      window length (default 5m)
  --lag <duration>         for xray without --to: leave this much time for late segments (default 3m)
  --stats-only             do not write the spans table (statistics, traces and regressions only)
  --metrics <where>        emf (EMF lines in <lake>/_metrics/, default for a local lake),
                           stdout (EMF lines to stdout), cloudwatch (default for an S3 lake), none
  --namespace <name>       CloudWatch namespace (default Tracelake)
  --key-cap <n>            per-key metrics for the busiest n keys, the rest summed (default 50)
  --log <file|->           JSON log lines (window summaries, findings with xray_trace_ids);
                           default <lake>/_logs/tracelake.ndjson for a local lake, - for stderr
  --filter-expression <e>  X-Ray filter expression (xray source)
  --group <name>           X-Ray group (xray source)
  --json                   print the summary as JSON
  --quiet                  print nothing but errors
  -h, --help               this help

Environment: AWS_REGION, AWS_ENDPOINT_URL_XRAY, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_CLOUDWATCH.
Exit status: 0 when the run completed (rejected documents are reported, not fatal), 1 on a fatal
error (unreadable source, unwritable lake), 2 on bad arguments.`;

const BACKFILL_USAGE = `Usage: tracelake backfill --from <time> --to <time> --lake <dir | s3://bucket/prefix> [options]

Processes every window of a past range from the X-Ray API, window by window, with progress.
Windows already in the lake are replaced, never duplicated, so an interrupted backfill can simply
be started again.

Options:
  --from <time>, --to <time>   the range (ISO 8601, epoch ms, now-1d)
  --lake <dir|s3://…>          the lake
  --window <duration>          window length (default 5m)
  --metrics, --namespace, --key-cap, --log, --filter-expression, --group, --stats-only, --json, --quiet
                               as for \`tracelake run\``;

const COMMON_FLAGS = {
  lake: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  window: { type: 'string' },
  lag: { type: 'string' },
  'stats-only': { type: 'boolean' },
  metrics: { type: 'string' },
  namespace: { type: 'string' },
  'key-cap': { type: 'string' },
  log: { type: 'string' },
  'filter-expression': { type: 'string' },
  group: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
} as const;

export interface LakeTarget {
  readonly uri: string;
  readonly store: ObjectStore;
  readonly localDir: string | null;
}

/** Opens a lake URI: a local folder (created) or `s3://bucket/prefix`. */
export async function openLakeTarget(uri: string, ctx: CommandContext): Promise<LakeTarget> {
  if (uri.startsWith('s3://')) {
    const { openLake } = await import('../adapters/lake.js');
    return { uri, store: await openLake(uri, ctx.env), localDir: null };
  }
  if (/^[a-z0-9]+:\/\//i.test(uri))
    throw new ConfigError(`--lake "${uri}": expected a local folder or s3://bucket/prefix`);
  const dir = resolve(ctx.cwd, uri);
  return { uri: dir, store: new LocalObjectStore(dir), localDir: dir };
}

export function windowFlag(value: string | undefined): number {
  if (value === undefined) return DEFAULT_WINDOW_MS;
  const ms = parseDuration(value);
  if (ms === null || ms < 60_000 || ms > 86_400_000 || 86_400_000 % ms !== 0) {
    throw new ConfigError(
      `--window "${value}": expected a duration that divides a day, from 1m to 24h (e.g. 5m, 15m, 1h)`,
    );
  }
  return ms;
}

function timeFlag(name: string, value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const t = parseTime(value, nowMs);
  if (t === null)
    throw new ConfigError(
      `--${name} "${value}": expected ISO 8601 (2026-01-01T10:00:00Z), epoch ms, or now-3h`,
    );
  return t;
}

function intFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new ConfigError(`--${name} "${value}": expected a positive whole number`);
  return n;
}

export async function openMetrics(
  where: string | undefined,
  lake: LakeTarget,
  namespace: string,
  ctx: CommandContext,
): Promise<MetricSink> {
  const choice = where ?? (lake.localDir ? 'emf' : 'cloudwatch');
  switch (choice) {
    case 'emf':
      if (!lake.localDir)
        throw new ConfigError(
          '--metrics emf writes into a local lake; use stdout or cloudwatch with an S3 lake',
        );
      return new EmfMetricSink({ namespace, target: join(lake.localDir, '_metrics', 'emf.ndjson') });
    case 'stdout':
      return new EmfMetricSink({ namespace, target: ctx.stdout });
    case 'cloudwatch': {
      const { cloudWatchSinkFromEnv } = await import('../adapters/cloudwatch-sink.js');
      return cloudWatchSinkFromEnv(namespace, ctx.env);
    }
    case 'none':
      return { publish: async () => {}, flush: async () => {} };
    default:
      throw new ConfigError(`--metrics "${choice}": expected emf, stdout, cloudwatch or none`);
  }
}

export function openLog(where: string | undefined, lake: LakeTarget, ctx: CommandContext): LogSink {
  if (where === '-') return new JsonLinesLog(ctx.stderr);
  if (where) return new JsonLinesLog(resolve(ctx.cwd, where));
  if (lake.localDir) return new JsonLinesLog(join(lake.localDir, '_logs', 'tracelake.ndjson'));
  return silentLog;
}

export function printSummary(
  summary: RunSummary,
  lake: LakeTarget,
  json: boolean,
  quiet: boolean,
  ctx: CommandContext,
): void {
  if (json) {
    ctx.stdout.write(`${JSON.stringify(summaryJson(summary, lake.uri), null, 2)}\n`);
  } else if (!quiet) {
    ctx.stdout.write(
      `${formatSummary(summary, { lake: lake.uri, style: makeStyle(Boolean(ctx.stdout.isTTY), ctx.env) })}\n`,
    );
  }
}

async function openSource(
  source: string,
  values: { 'filter-expression'?: string; group?: string },
  ctx: CommandContext,
): Promise<TraceSource> {
  if (source === 'xray') {
    const { xraySourceFromEnv } = await import('../adapters/xray-source.js');
    return xraySourceFromEnv(ctx.env, { filterExpression: values['filter-expression'], group: values.group });
  }
  const path = resolve(ctx.cwd, source);
  if (!existsSync(path)) throw new ConfigError(`--source "${source}": no such file or folder`);
  return new FileSource(path);
}

export const runCommand = {
  usage: RUN_USAGE,
  async run(args: string[], ctx: CommandContext): Promise<number> {
    const { values, positionals } = parseFlags(args, { source: { type: 'string' }, ...COMMON_FLAGS });
    if (positionals.length) throw new ConfigError(`unexpected argument "${positionals[0]}"`);
    if (!values.source) throw new ConfigError('--source is required (a file, a folder, or "xray")');
    if (!values.lake) throw new ConfigError('--lake is required (a local folder or s3://bucket/prefix)');
    const now = Date.now();
    const windowMs = windowFlag(values.window);
    const lagMs = values.lag === undefined ? 180_000 : parseDuration(values.lag);
    if (lagMs === null) throw new ConfigError(`--lag "${values.lag}": expected a duration such as 3m`);
    let fromMs = timeFlag('from', values.from, now);
    let toMs = timeFlag('to', values.to, now);
    if (values.source === 'xray') {
      if (fromMs === undefined)
        throw new ConfigError('--from is required with --source xray (e.g. --from now-1h)');
      toMs ??= now - lagMs;
      // API sources fetch whole windows, so the range is widened to window boundaries.
      fromMs = Math.floor(fromMs / windowMs) * windowMs;
      toMs = Math.floor(toMs / windowMs) * windowMs;
    }
    if (fromMs !== undefined && toMs !== undefined && toMs <= fromMs) {
      throw new ConfigError(
        `--to must be after --from (got ${new Date(fromMs).toISOString()} → ${new Date(toMs).toISOString()})`,
      );
    }
    const range =
      fromMs !== undefined || toMs !== undefined ? { fromMs: fromMs ?? 0, toMs: toMs ?? 8.64e15 } : undefined;
    const lake = await openLakeTarget(values.lake, ctx);
    const source = await openSource(values.source, values, ctx);
    const metrics = await openMetrics(values.metrics, lake, values.namespace ?? 'Tracelake', ctx);
    const log = openLog(values.log, lake, ctx);
    const progress = new ProgressLine(ctx.stderr);
    const summary = await runPipeline(
      { source, store: lake.store, metrics, log },
      {
        windowMs,
        range,
        writeSpans: !values['stats-only'],
        metricKeyCap: intFlag('key-cap', values['key-cap'], 50),
        progress: values.quiet
          ? undefined
          : (p) =>
              progress.update(
                `reading… ${int(p.traces)} traces, ${int(p.spans)} spans, ${int(p.rejected)} rejected`,
              ),
      },
    );
    progress.done();
    printSummary(summary, lake, Boolean(values.json), Boolean(values.quiet), ctx);
    return 0;
  },
};

export const backfillCommand = {
  usage: BACKFILL_USAGE,
  async run(args: string[], ctx: CommandContext): Promise<number> {
    const { values, positionals } = parseFlags(args, { source: { type: 'string' }, ...COMMON_FLAGS });
    if (positionals.length) throw new ConfigError(`unexpected argument "${positionals[0]}"`);
    if (values.source && values.source !== 'xray')
      throw new ConfigError('backfill reads the X-Ray API; use `tracelake run --source <path>` for files');
    if (!values.lake) throw new ConfigError('--lake is required (a local folder or s3://bucket/prefix)');
    const now = Date.now();
    const windowMs = windowFlag(values.window);
    const fromMs = timeFlag('from', values.from, now);
    const toMs = timeFlag('to', values.to, now);
    if (fromMs === undefined || toMs === undefined) throw new ConfigError('--from and --to are required');
    if (toMs <= fromMs) throw new ConfigError('--to must be after --from');
    const lake = await openLakeTarget(values.lake, ctx);
    const metrics = await openMetrics(values.metrics, lake, values.namespace ?? 'Tracelake', ctx);
    const log = openLog(values.log, lake, ctx);
    const { backfill } = await import('../pipeline/collector.js');
    const { xraySourceFromEnv } = await import('../adapters/xray-source.js');
    const source = xraySourceFromEnv(ctx.env, {
      filterExpression: values['filter-expression'],
      group: values.group,
    });
    const progress = new ProgressLine(ctx.stderr);
    const started = Date.now();
    const result = await backfill(
      { source, store: lake.store, metrics, log },
      {
        fromMs,
        toMs,
        windowMs,
        writeSpans: !values['stats-only'],
        metricKeyCap: intFlag('key-cap', values['key-cap'], 50),
        onProgress: values.quiet
          ? undefined
          : (p: { done: number; total: number; traces: number }) => {
              const pct = p.total ? Math.floor((100 * p.done) / p.total) : 100;
              const bar = '#'.repeat(Math.floor(pct / 5)).padEnd(20, '.');
              const eta = p.done ? ((Date.now() - started) / p.done) * (p.total - p.done) : 0;
              progress.update(
                `[${bar}] ${p.done}/${p.total} windows, ${int(p.traces)} traces, ETA ${Math.ceil(eta / 1000)} s`,
              );
            },
      },
    );
    progress.done();
    if (values.json) ctx.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else if (!values.quiet)
      ctx.stdout.write(
        `Backfilled ${result.windows} windows (${int(result.traces)} traces) into ${lake.uri}\n`,
      );
    return 0;
  },
};
