/** `tracelake demo`: synthetic traffic of a small serverless shop through the whole pipeline. */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { EmfMetricSink } from '../adapters/emf-sink.js';
import { FileSource } from '../adapters/file-source.js';
import { JsonLinesLog } from '../adapters/json-log.js';
import { LocalObjectStore } from '../adapters/local-store.js';
import { parseTime } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import type { DemoOptions } from '../demo/generate.js';
import { type OtelDemoFormat, writeOtelDemo } from '../demo/otel.js';
import { REGION as DEMO_REGION } from '../demo/shop.js';
import { MANIFEST_FILE, writeDemoTraces } from '../demo/write.js';
import { runPipeline } from '../pipeline/run.js';
import { makeReport } from '../report/make.js';
import { int, makeStyle, ProgressLine, utc } from './format.js';
import type { CommandContext } from './main.js';
import { parseFlags } from './main.js';
import { reportLine } from './report.js';
import { formatSummary, summaryJson } from './summary.js';

const USAGE = `Usage: tracelake demo [options]

Generates a few hours of realistic X-Ray traffic for a small serverless shop (API Gateway, Lambda
with cold starts, DynamoDB, S3, SQS, an external payments API, a container service with SQL), with
one injected latency regression and a few broken documents; writes it as BatchGetTraces files;
runs the whole pipeline into a local lake; and prints what it found. Needs no AWS account.

Options:
  --dir <folder>     where to put input/ and lake/ (default ./tracelake-demo; replaced on each run)
  --hours <n>        hours of traffic (default 3)
  --rps <n>          requests per second at the daily peak (default 1)
  --seed <n>         random seed (default 7): the same seed gives the same traffic
  --start <time>     start of the traffic (default: 3 hours before the current hour)
  --format <f>       input format: xray (BatchGetTraces files, default), otel (CloudWatch
                     Transaction Search aws/spans events), otlp (OTLP JSON, as the Collector's
                     file exporter writes) — the lake comes out the same
  --no-regression    inject no regression (nothing should be found)
  --json             print the summary as JSON
  --quiet            print nothing but errors
  -h, --help         this help`;

const MARKER = '.tracelake-demo';

export const demoCommand = {
  usage: USAGE,
  async run(args: string[], ctx: CommandContext): Promise<number> {
    const { values, positionals } = parseFlags(args, {
      dir: { type: 'string' },
      hours: { type: 'string' },
      rps: { type: 'string' },
      seed: { type: 'string' },
      start: { type: 'string' },
      format: { type: 'string' },
      'no-regression': { type: 'boolean' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
    });
    if (positionals.length) throw new ConfigError(`unexpected argument "${positionals[0]}"`);
    const hours = positiveNumber('hours', values.hours, 3);
    const rps = positiveNumber('rps', values.rps, 1);
    const seed = Math.floor(positiveNumber('seed', values.seed, 7));
    const now = Date.now();
    const defaultStart = Math.floor(now / 3_600_000) * 3_600_000 - hours * 3_600_000;
    const startMs = values.start === undefined ? defaultStart : parseTime(values.start, now);
    if (startMs === null) throw new ConfigError(`--start "${values.start}": expected ISO 8601 or epoch ms`);

    const format = values.format ?? 'xray';
    if (!['xray', 'otel', 'aws-spans', 'otlp'].includes(format)) {
      throw new ConfigError(`--format "${format}": expected xray, otel (aws/spans events) or otlp`);
    }
    const dir = resolve(ctx.cwd, values.dir ?? 'tracelake-demo');
    prepareDir(dir);
    const inputDir = join(dir, 'input');
    const lakeDir = join(dir, 'lake');
    const style = makeStyle(Boolean(ctx.stdout.isTTY), ctx.env);
    const say = (line: string) => {
      if (!values.quiet && !values.json) ctx.stdout.write(`${line}\n`);
    };

    // The regression starts two thirds of the way in, so there is a baseline before it.
    const regressionAt = startMs + Math.round(hours * (2 / 3) * 4) * 900_000;
    const regression = values['no-regression']
      ? null
      : {
          service: 'orders-api',
          name: 'DynamoDB',
          operation: 'Query',
          resource: 'orders',
          factor: 2.5,
          atMs: regressionAt,
        };
    say(style.bold(`tracelake demo — ${hours} h of a small serverless shop (seed ${seed})`));
    const options: DemoOptions = { seed, startMs, hours, requestsPerSecond: rps, regression };
    const otelFormat: OtelDemoFormat | null =
      format === 'xray' ? null : format === 'otlp' ? 'otlp' : 'aws-spans';
    const manifest = otelFormat
      ? await writeOtelDemo(inputDir, options, otelFormat)
      : await writeDemoTraces(inputDir, options);
    // The manifest describes the input; it is not trace data, so it lives beside the input folder.
    renameSync(join(inputDir, MANIFEST_FILE), join(dir, MANIFEST_FILE));
    const formatLabel =
      otelFormat === 'otlp' ? 'OTLP JSON' : otelFormat ? 'aws/spans event' : 'BatchGetTraces';
    say(
      `Generated ${int(manifest.traces)} traces, ${int(manifest.completeSpans)} complete spans (+${int(
        manifest.inProgressSpans,
      )} in progress, ${manifest.brokenDocuments} broken documents) as ${manifest.files.length} ${formatLabel} files in ${rel(ctx, inputDir)}`,
    );
    if (regression) {
      say(
        `Injected: ${regression.service} > ${regression.name} ${regression.operation} ${regression.resource} ×${regression.factor} slower from ${utc(
          regression.atMs,
        )}`,
      );
    }
    say('');

    const store = new LocalObjectStore(lakeDir);
    const metrics = new EmfMetricSink({
      namespace: 'Tracelake',
      target: join(lakeDir, '_metrics', 'emf.ndjson'),
    });
    const log = new JsonLinesLog(join(lakeDir, '_logs', 'tracelake.ndjson'));
    const progress = new ProgressLine(ctx.stderr);
    const summary = await runPipeline(
      { source: new FileSource(inputDir), store, metrics, log },
      {
        progress: values.quiet
          ? undefined
          : (p) => progress.update(`running pipeline… ${int(p.traces)} traces, ${int(p.spans)} spans`),
      },
    );
    progress.done();
    const reportPath = join(dir, 'report.html');
    const report = await makeReport({ dir: lakeDir }, { region: DEMO_REGION });
    writeFileSync(reportPath, report.html);

    if (values.json) {
      ctx.stdout.write(
        `${JSON.stringify({ manifest, summary: summaryJson(summary, lakeDir), report: reportPath }, null, 2)}\n`,
      );
      return 0;
    }
    say(formatSummary(summary, { lake: rel(ctx, lakeDir), style }));
    if (regression) {
      const hit = summary.findings.find(
        (f) =>
          f.service === regression.service && f.key.includes(`${regression.name} ${regression.operation}`),
      );
      say(
        hit
          ? style.green(
              `The injected regression was found: onset estimated ${utc(hit.since)} (injected ${utc(regression.atMs)}).`,
            )
          : style.yellow('The injected regression was not found in this run.'),
      );
    }
    say('');
    say(`${reportLine(report.model, rel(ctx, reportPath), style)} — open it in a browser`);
    say(
      `Ask the lake: tracelake query --lake ${rel(ctx, lakeDir)} "SELECT key, max(p99_ms) AS p99 FROM subsegment_stats GROUP BY key ORDER BY p99 DESC LIMIT 10"`,
    );
    say('');
    say(
      `Logs with trace IDs: ${rel(ctx, join(lakeDir, '_logs', 'tracelake.ndjson'))}   Metrics (EMF): ${rel(ctx, join(lakeDir, '_metrics', 'emf.ndjson'))}`,
    );
    return 0;
  },
};

function positiveNumber(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new ConfigError(`--${name} "${value}": expected a positive number`);
  return n;
}

/** The demo owns its folder: it is replaced on each run, but only if the demo made it. */
function prepareDir(dir: string): void {
  if (existsSync(dir)) {
    if (!existsSync(join(dir, MARKER))) {
      throw new ConfigError(
        `--dir "${dir}" exists and was not made by tracelake demo; choose another folder`,
      );
    }
    rmSync(join(dir, 'input'), { recursive: true, force: true });
    rmSync(join(dir, 'lake'), { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, MARKER), 'This folder is made and replaced by `tracelake demo`.\n');
}

function rel(ctx: CommandContext, path: string): string {
  const r = relative(ctx.cwd, path);
  return r && !r.startsWith('..') ? r : path;
}
