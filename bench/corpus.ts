/**
 * The benchmark corpus: demo-shop traffic squeezed into ONE 5-minute window, written as X-Ray
 * `BatchGetTraces` response files (`Document` as JSON text, as the API returns it) of a fixed number
 * of traces each. Cached under `bench/out/` by its parameters; a corpus counts as present only once
 * its manifest exists (the manifest is written last).
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateTraces } from '../lib/demo/generate.js';

export interface CorpusParams {
  /** Complete spans wanted; generation stops at the first trace that reaches it. */
  readonly spans: number;
  readonly seed: number;
  /** Traces per BatchGetTraces file. */
  readonly tracesPerFile: number;
}

export interface CorpusManifest extends CorpusParams {
  readonly dir: string;
  readonly files: string[];
  readonly traces: number;
  readonly documents: number;
  readonly completeSpans: number;
  readonly inProgressSpans: number;
  readonly brokenDocuments: number;
  readonly bytes: number;
  readonly windowStartMs: number;
  readonly generatedMs: number;
}

/** Format version of the cache: bump when the writer changes what it writes. */
const CORPUS_VERSION = 1;
export const WINDOW_START_MS = Date.UTC(2026, 0, 15, 8, 0, 0);
const WINDOW_MS = 300_000;
/** Complete spans per trace of the demo shop (measured: 10.45) and its rate factor at 08:00 UTC. */
const SPANS_PER_TRACE = 10.4;
const RATE_FACTOR = 0.92;

export function corpusDir(outDir: string, p: CorpusParams): string {
  return path.join(outDir, `corpus-v${CORPUS_VERSION}-${p.spans}-s${p.seed}-f${p.tracesPerFile}`);
}

/** Returns the cached corpus, or generates it. */
export async function ensureCorpus(
  outDir: string,
  p: CorpusParams,
  say: (line: string) => void,
): Promise<CorpusManifest> {
  const dir = corpusDir(outDir, p);
  const manifestFile = path.join(dir, 'manifest.json');
  if (existsSync(manifestFile)) {
    return JSON.parse(await readFile(manifestFile, 'utf8')) as CorpusManifest;
  }
  say(`generating corpus ${path.basename(dir)} …`);
  const started = performance.now();
  await rm(dir, { recursive: true, force: true });
  const traceDir = path.join(dir, 'traces');
  await mkdir(traceDir, { recursive: true });

  // 15 % headroom over the expected rate, so the span target is reached inside the window.
  const requestsPerSecond = Math.min(
    10_000,
    (p.spans / (WINDOW_MS / 1000) / SPANS_PER_TRACE / RATE_FACTOR) * 1.15,
  );
  const files: string[] = [];
  let traces = 0;
  let documents = 0;
  let completeSpans = 0;
  let inProgressSpans = 0;
  let brokenDocuments = 0;
  let bytes = 0;
  let batch: string[] = [];

  const flush = async () => {
    if (batch.length === 0) return;
    const name = `batchgettraces-${String(files.length).padStart(5, '0')}.json`;
    const text = `{"Traces":[${batch.join(',')}],"UnprocessedTraceIds":[]}\n`;
    const handle = await open(path.join(traceDir, name), 'w');
    await handle.writeFile(text);
    await handle.close();
    bytes += Buffer.byteLength(text);
    files.push(name);
    batch = [];
  };

  for (const trace of generateTraces({
    seed: p.seed,
    startMs: WINDOW_START_MS,
    hours: WINDOW_MS / 3_600_000,
    requestsPerSecond,
  })) {
    if (completeSpans >= p.spans) break;
    let segments = '';
    let minStart = Number.POSITIVE_INFINITY;
    let maxEnd = Number.NEGATIVE_INFINITY;
    trace.segments.forEach((doc, i) => {
      const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
      const id = typeof doc === 'string' ? `broken${i}`.padEnd(16, '0') : String(doc.id ?? '');
      if (typeof doc !== 'string') {
        if (typeof doc.start_time === 'number') minStart = Math.min(minStart, doc.start_time);
        if (typeof doc.end_time === 'number') maxEnd = Math.max(maxEnd, doc.end_time);
      }
      segments += `${i ? ',' : ''}{"Id":${JSON.stringify(id)},"Document":${JSON.stringify(text)}}`;
    });
    const duration = maxEnd >= minStart ? `"Duration":${Math.round((maxEnd - minStart) * 1e3) / 1e3},` : '';
    batch.push(`{"Id":"${trace.traceId}",${duration}"LimitExceeded":false,"Segments":[${segments}]}`);
    traces++;
    documents += trace.segments.length;
    completeSpans += trace.completeSpans;
    inProgressSpans += trace.inProgressSpans;
    brokenDocuments += trace.brokenDocuments;
    if (batch.length >= p.tracesPerFile) await flush();
  }
  await flush();
  const manifest: CorpusManifest = {
    ...p,
    dir,
    files,
    traces,
    documents,
    completeSpans,
    inProgressSpans,
    brokenDocuments,
    bytes,
    windowStartMs: WINDOW_START_MS,
    generatedMs: Math.round(performance.now() - started),
  };
  await writeFile(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  say(
    `  ${traces} traces, ${completeSpans} spans, ${(bytes / 1e6).toFixed(0)} MB in ${files.length} files (${(manifest.generatedMs / 1000).toFixed(1)} s)`,
  );
  return manifest;
}

export function traceDirOf(m: CorpusManifest): string {
  return path.join(m.dir, 'traces');
}
