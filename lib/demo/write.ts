/**
 * Writes the demo traffic to a folder as X-Ray `BatchGetTraces` responses, one file per 5-minute
 * window, streaming: only the current file's write buffer is held in memory.
 */
import { mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, LakeError } from '../core/errors.js';
import { DEFAULT_WINDOW_MS, windowStart } from '../core/model.js';
import {
  type DemoOptions,
  type GeneratedTrace,
  generateTraces,
  type RegressionSpec,
  resolveDemoOptions,
  type SegmentDocument,
} from './generate.js';

export interface DemoManifest {
  /** File names relative to the folder, in window order. */
  files: string[];
  /** Trace entries written, broken and in-progress ones included. */
  traces: number;
  /** Segment documents written (`Segments[]` entries), broken ones included. */
  documents: number;
  /** Complete segments + subsegments at every nesting level: the rows the `spans` table should get. */
  completeSpans: number;
  inProgressSpans: number;
  brokenDocuments: number;
  /** Windows holding at least one trace (one file each). */
  windows: number;
  startMs: number;
  endMs: number;
  seed: number;
  requestsPerSecond: number;
  regression: RegressionSpec | null;
}

export const MANIFEST_FILE = 'manifest.json';
const FILE_PATTERN = /^batchgettraces-\d{8}T\d{4}Z\.json$/;
/** Flush to disk in chunks of about this many characters. */
const FLUSH_CHARS = 1 << 20;

/**
 * The file name for a window: `batchgettraces-20260115T0805Z.json` (UTC window start).
 *
 * @example demoFileName(Date.UTC(2026, 0, 15, 8, 5)) === 'batchgettraces-20260115T0805Z.json'
 */
export function demoFileName(windowStartMs: number): string {
  const iso = new Date(windowStartMs).toISOString(); // 2026-01-15T08:05:00.000Z
  return `batchgettraces-${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z.json`;
}

/**
 * Generates the demo traffic into `dir` (created if needed; earlier `batchgettraces-*.json` files
 * there are removed first so a re-run never mixes two runs) and writes `manifest.json` beside.
 *
 * @example
 * const manifest = await writeDemoTraces('.tracelake/demo/traces', { seed: 1 });
 * console.log(manifest.files.length, manifest.completeSpans);
 * @throws ConfigError on a bad option; LakeError when the folder cannot be written.
 */
export async function writeDemoTraces(dir: string, options: DemoOptions = {}): Promise<DemoManifest> {
  const resolved = resolveDemoOptions(options);
  try {
    await mkdir(dir, { recursive: true });
    for (const name of await readdir(dir)) {
      if (FILE_PATTERN.test(name) || name === MANIFEST_FILE) await rm(path.join(dir, name));
    }
  } catch (error) {
    throw new LakeError(`cannot prepare the demo folder ${dir}: ${(error as Error).message}`, {
      cause: error,
    });
  }

  const manifest: DemoManifest = {
    files: [],
    traces: 0,
    documents: 0,
    completeSpans: 0,
    inProgressSpans: 0,
    brokenDocuments: 0,
    windows: 0,
    startMs: resolved.startMs,
    endMs: resolved.endMs,
    seed: resolved.seed,
    requestsPerSecond: resolved.requestsPerSecond,
    regression: resolved.regression,
  };

  let file: WindowFile | null = null;
  try {
    for (const trace of generateTraces(options)) {
      const window = windowStart(trace.startMs, DEFAULT_WINDOW_MS);
      if (file === null || file.window !== window) {
        if (file !== null) await file.close();
        const name = demoFileName(window);
        file = await WindowFile.open(path.join(dir, name), window);
        manifest.files.push(name);
      }
      await file.add(traceJson(trace));
      manifest.traces += 1;
      manifest.documents += trace.segments.length;
      manifest.completeSpans += trace.completeSpans;
      manifest.inProgressSpans += trace.inProgressSpans;
      manifest.brokenDocuments += trace.brokenDocuments;
    }
    if (file !== null) await file.close();
    manifest.windows = manifest.files.length;
    await writeFile(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  } catch (error) {
    await file?.abandon();
    if (error instanceof ConfigError) throw error;
    throw new LakeError(`cannot write the demo traces to ${dir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return manifest;
}

/** One BatchGetTraces response file being written. */
class WindowFile {
  private buffer = '';
  private first = true;

  private constructor(
    private readonly handle: Awaited<ReturnType<typeof open>>,
    readonly window: number,
  ) {}

  static async open(filePath: string, window: number): Promise<WindowFile> {
    const file = new WindowFile(await open(filePath, 'w'), window);
    file.buffer = '{"Traces":[';
    return file;
  }

  async add(json: string): Promise<void> {
    this.buffer += this.first ? json : `,${json}`;
    this.first = false;
    if (this.buffer.length >= FLUSH_CHARS) await this.flush();
  }

  async close(): Promise<void> {
    this.buffer += '],"UnprocessedTraceIds":[]}\n';
    await this.flush();
    await this.handle.close();
  }

  async abandon(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }

  private async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const text = this.buffer;
    this.buffer = '';
    await this.handle.write(text);
  }
}

/** One `Traces[]` entry: `Document` as a JSON string, as the X-Ray API returns it. */
function traceJson(trace: GeneratedTrace): string {
  let minStart = Number.POSITIVE_INFINITY;
  let maxEnd = Number.NEGATIVE_INFINITY;
  let segments = '';
  for (const segment of trace.segments) {
    let id: string;
    let document: string;
    if (typeof segment === 'string') {
      id = idOfText(segment);
      document = segment;
    } else {
      id = typeof segment.id === 'string' ? segment.id : '';
      document = JSON.stringify(segment);
      spanOf(segment);
    }
    segments += `${segments === '' ? '' : ','}{"Id":${JSON.stringify(id)},"Document":${JSON.stringify(document)}}`;
  }
  const duration =
    Number.isFinite(minStart) && maxEnd >= minStart
      ? `"Duration":${Math.round((maxEnd - minStart) * 1e6) / 1e6},`
      : '';
  return `{"Id":"${trace.traceId}",${duration}"LimitExceeded":false,"Segments":[${segments}]}`;

  function spanOf(doc: SegmentDocument): void {
    const start = doc.start_time;
    const end = doc.end_time;
    if (typeof start === 'number' && start < minStart) minStart = start;
    if (typeof end === 'number' && end > maxEnd) maxEnd = end;
  }
}

/** The segment id in a document that may not parse (a truncated one keeps its leading `id`). */
function idOfText(text: string): string {
  return /"id":"([^"]*)"/.exec(text)?.[1] ?? '';
}
