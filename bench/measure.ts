/**
 * One measurement, run in its own process (pinned to one core by `bench/run.ts`):
 *
 *   node bench/out/measure.mjs <task> '<json args>'     (bundled by bench/run.ts)
 *   node --import tsx bench/measure.ts <task> '<json args>'
 *
 * Prints one JSON line `{"result": …}` on stdout. Tasks: `floor`, `e2e`, `stages`, `duckdb`,
 * `accuracy`. Times are wall-clock ms inside the process, so process and loader start-up are
 * left out; peak RSS is the process's whole life.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { EmfMetricSink } from '../lib/adapters/emf-sink.js';
import { FileSource } from '../lib/adapters/file-source.js';
import { LocalObjectStore } from '../lib/adapters/local-store.js';
import { encodeArrowTable } from '../lib/adapters/parquet.js';
import { buildArrowTable } from '../lib/core/arrow.js';
import { decodeRecord } from '../lib/core/decode.js';
import { flattenTrace, linkTrace } from '../lib/core/flatten.js';
import type { SpanRow, TraceRow } from '../lib/core/model.js';
import { silentLog } from '../lib/core/ports.js';
import { WindowAggregator } from '../lib/core/stats/aggregate.js';
import { SPANS, SUBSEGMENT_STATS, TRACES } from '../lib/core/tables.js';
import { decodeBatchGetTracesByTrace } from '../lib/core/xray/decode.js';
import { runPipeline } from '../lib/pipeline/run.js';
import { accuracy, duckdbPeer } from './duckdb.js';

type Args = Record<string, unknown>;

const WINDOW_MS = 300_000;
const PART_ROWS = 100_000;

function str(args: Args, name: string): string {
  const v = args[name];
  if (typeof v !== 'string') throw new Error(`argument ${name} must be a string`);
  return v;
}

/** User + system CPU ms of this process since `from` (robust on a shared, busy machine). */
function cpuMs(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
}

function peakRssMb(): number {
  // resourceUsage().maxRSS is in kilobytes.
  return process.resourceUsage().maxRSS / 1024;
}

async function jsonFiles(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => path.join(dir, f));
}

/** The floor: read the bytes, `JSON.parse` the response, `JSON.parse` every `Document`. */
async function floor(args: Args) {
  const files = await jsonFiles(str(args, 'traces'));
  let outerMs = 0;
  let innerMs = 0;
  let documents = 0;
  let keys = 0;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (const file of files) {
    const t0 = performance.now();
    const value: unknown = JSON.parse(await readFile(file, 'utf8'));
    const t1 = performance.now();
    const traces = (value as { Traces: { Segments: { Document: string }[] }[] }).Traces;
    for (const trace of traces) {
      for (const segment of trace.Segments) {
        const doc: unknown = JSON.parse(segment.Document);
        // Touch the result so the parse cannot be optimised away.
        if (doc !== null && typeof doc === 'object') keys++;
        documents++;
      }
    }
    outerMs += t1 - t0;
    innerMs += performance.now() - t1;
  }
  const cpu = cpuMs(cpu0);
  const wall = performance.now() - wall0;
  // The split of CPU time between the two parts follows the split of wall time.
  return {
    outerMs: (outerMs / wall) * cpu,
    innerMs: (innerMs / wall) * cpu,
    totalMs: cpu,
    wallMs: wall,
    documents,
    keys,
    peakRssMb: peakRssMb(),
  };
}

/** `runPipeline` as `tracelake run` calls it: files in, local lake out, EMF metrics to a file. */
async function e2e(args: Args) {
  const lake = str(args, 'lake');
  await rm(lake, { recursive: true, force: true });
  const writeSpans = args.writeSpans === true;
  let rssSamples = 0;
  let rssMax = 0;
  const sampler = setInterval(() => {
    rssSamples++;
    rssMax = Math.max(rssMax, process.memoryUsage.rss());
  }, 50);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const summary = await runPipeline(
    {
      source: new FileSource(str(args, 'traces')),
      store: new LocalObjectStore(lake),
      metrics: new EmfMetricSink({ target: path.join(lake, '_metrics', 'emf.ndjson') }),
      log: silentLog,
    },
    { windowMs: WINDOW_MS, writeSpans },
  );
  const wallMs = performance.now() - t0;
  const elapsedMs = cpuMs(cpu0);
  clearInterval(sampler);
  return {
    elapsedMs,
    wallMs,
    spans: summary.spans,
    traces: summary.traces,
    keys: summary.keys,
    rejected: summary.rejected,
    inProgress: summary.inProgress,
    windows: summary.windows.length,
    objects: summary.objectsWritten.length,
    peakRssMb: peakRssMb(),
    sampledRssMb: rssMax / (1024 * 1024),
    rssSamples,
  };
}

/**
 * What DuckDB's query computes, computed as `runPipeline` computes it and nothing else: files read,
 * responses decoded one trace at a time (documents validated), linked and flattened, every span into
 * the window's sketches, then the `subsegment_stats` rows (count, p50/p90/p99 and the rest). No
 * `traces` table, no Parquet, no metrics, no regression detection, nothing written.
 */
async function aggregates(args: Args) {
  const source = new FileSource(str(args, 'traces'));
  const aggregator = new WindowAggregator({ windowMs: WINDOW_MS });
  const cpu0 = process.cpuUsage();
  let spans = 0;
  for await (const event of source.read()) {
    if (event.type !== 'record') continue;
    const pieces = decodeBatchGetTracesByTrace(event.record) ?? [decodeRecord(event.record)];
    for (const piece of pieces) {
      for (const trace of piece.traces) {
        const linked = linkTrace(trace.traceId, trace.nodes);
        const flat = flattenTrace(trace.traceId, linked.roots, WINDOW_MS);
        for (const row of flat.spans) aggregator.add(row);
        spans += flat.spans.length;
      }
    }
  }
  let groups = 0;
  for (const window of aggregator.windows()) groups += aggregator.statsRows(window).length;
  return { elapsedMs: cpuMs(cpu0), spans, groups, peakRssMb: peakRssMb() };
}

/**
 * The pipeline's stages timed one by one, calling the same functions `runPipeline` calls in the
 * same order (source → decode → link + flatten → aggregate → Arrow → Parquet → store).
 */
async function stages(args: Args) {
  const lake = str(args, 'lake');
  await rm(lake, { recursive: true, force: true });
  const writeSpans = args.writeSpans === true;
  const store = new LocalObjectStore(lake);
  const source = new FileSource(str(args, 'traces'));
  const aggregator = new WindowAggregator({ windowMs: WINDOW_MS });
  const t = { read: 0, decode: 0, flatten: 0, sketch: 0, arrow: 0, parquet: 0, put: 0, finish: 0 };
  let spans = 0;
  let buffer: SpanRow[] = [];
  const traceRows: TraceRow[] = [];
  let part = 0;

  const encode = async (rows: readonly object[], def: typeof SPANS, key: string) => {
    const a = performance.now();
    const table = buildArrowTable(def, rows);
    const b = performance.now();
    const bytes = encodeArrowTable(table, def.name);
    const c = performance.now();
    await store.put(key, bytes);
    t.arrow += b - a;
    t.parquet += c - b;
    t.put += performance.now() - c;
    return bytes.byteLength;
  };

  let spanBytes = 0;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const iterator = source.read()[Symbol.asyncIterator]();
  for (;;) {
    const a = performance.now();
    const next = await iterator.next();
    t.read += performance.now() - a;
    if (next.done) break;
    const event = next.value;
    if (event.type !== 'record') continue;
    const b = performance.now();
    const decoded = decodeRecord(event.record);
    const c = performance.now();
    t.decode += c - b;
    for (const trace of decoded.traces) {
      const d = performance.now();
      const linked = linkTrace(trace.traceId, trace.nodes);
      const flat = flattenTrace(trace.traceId, linked.roots, WINDOW_MS);
      const e = performance.now();
      t.flatten += e - d;
      if (!flat.trace) continue;
      traceRows.push(flat.trace);
      spans += flat.spans.length;
      for (const row of flat.spans) aggregator.add(row);
      t.sketch += performance.now() - e;
      if (writeSpans) {
        for (const row of flat.spans) buffer.push(row);
        if (buffer.length >= PART_ROWS) {
          spanBytes += await encode(buffer, SPANS, `spans/part-${part++}.parquet`);
          buffer = [];
        }
      }
    }
  }
  if (writeSpans && buffer.length) spanBytes += await encode(buffer, SPANS, `spans/part-${part++}.parquet`);
  const f = performance.now();
  let statsBytes = 0;
  for (const window of aggregator.windows()) {
    const rows = aggregator.statsRows(window);
    t.finish += performance.now() - f;
    statsBytes += await encode(rows, SUBSEGMENT_STATS, `stats/${window}.parquet`);
  }
  const tracesBytes = await encode(traceRows, TRACES, 'traces/all.parquet');
  // Wall time per stage, scaled so that the stages share the process's CPU time the same way.
  const cpu = cpuMs(cpu0);
  const wall = performance.now() - wall0;
  const ms = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, (v / wall) * cpu]));
  return {
    ms,
    wallMs: t,
    cpuMs: cpu,
    totalWallMs: wall,
    spans,
    traces: traceRows.length,
    spanBytes,
    statsBytes,
    tracesBytes,
    peakRssMb: peakRssMb(),
  };
}

async function main(): Promise<void> {
  const [task, json] = process.argv.slice(2);
  const args = JSON.parse(json ?? '{}') as Args;
  let result: unknown;
  switch (task) {
    case 'floor':
      result = await floor(args);
      break;
    case 'e2e':
      result = await e2e(args);
      break;
    case 'stages':
      result = await stages(args);
      break;
    case 'aggregates':
      result = await aggregates(args);
      break;
    case 'duckdb':
      result = await duckdbPeer(
        str(args, 'traces'),
        Number(args.threads ?? 1),
        args.mode === 'paths' ? 'paths' : 'struct',
      );
      break;
    case 'accuracy':
      result = await accuracy(str(args, 'lake'), str(args, 'traces'));
      break;
    default:
      throw new Error(`unknown task ${task}`);
  }
  process.stdout.write(`${JSON.stringify({ result })}\n`);
}

await main();
