/**
 * Ports: what the pure core and the pipeline need from the outside world. Adapters in
 * `lib/adapters/` implement them (local folder or S3, files or the X-Ray API, EMF or CloudWatch).
 */
import type { Rejection, SourceLocation } from './model.js';

/** A parsed JSON value with where it came from. Never trusted: the core validates it. */
export interface RawRecord {
  readonly value: unknown;
  readonly location: SourceLocation;
}

/**
 * What a source yields, in order:
 * - `record`: one parsed JSON value (a file, an NDJSON line, an API page) whose shape the core
 *   classifies (BatchGetTraces response, trace, segment, OTel spans, …);
 * - `trace`: the documents of one complete trace, as the X-Ray API returns them;
 * - `rejected`: input that could not even be parsed as JSON.
 */
export type SourceEvent =
  | { readonly type: 'record'; readonly record: RawRecord }
  | {
      readonly type: 'trace';
      readonly traceId: string;
      readonly documents: readonly RawRecord[];
      /** GetTraceSummaries fields for the `traces` table, when the source has them. */
      readonly summary?: unknown;
    }
  | { readonly type: 'rejected'; readonly rejection: Rejection };

/** Counters a source keeps about what it skipped or retried; reported in the run summary. */
export type SourceStats = Record<string, number>;

export interface TraceSource {
  /** For messages: a path, `xray:<region>` … */
  describe(): string;
  /** Yields events; `windowStartMs`/`windowEndMs` restrict API sources, file sources ignore them. */
  read(range?: { fromMs: number; toMs: number }): AsyncIterable<SourceEvent>;
  stats(): SourceStats;
}

/** The lake's storage: a local folder or an S3 prefix. Keys are relative, `/`-separated. */
export interface ObjectStore {
  /** `file:///abs/path` or `s3://bucket/prefix`. */
  describe(): string;
  /** Writes atomically: readers see the old object or the whole new one, never part of one. */
  put(key: string, body: Uint8Array, options?: { contentType?: string }): Promise<void>;
  /** null when absent. */
  get(key: string): Promise<Uint8Array | null>;
  /** Every key under `prefix` (recursive), sorted. */
  list(prefix: string): Promise<string[]>;
  delete(keys: readonly string[]): Promise<void>;
  /**
   * Conditional create for leases and checkpoints: writes only if the key is absent
   * (`ifMatch` undefined) or its current version tag equals `ifMatch`. Returns the new version
   * tag, or null when the condition failed.
   */
  putConditional?(key: string, body: Uint8Array, ifMatch?: string): Promise<string | null>;
  /** The object with its version tag, for `putConditional`. */
  getWithVersion?(key: string): Promise<{ body: Uint8Array; version: string } | null>;
}

export type MetricUnit = 'Milliseconds' | 'Count' | 'Seconds' | 'None';

/** One metric datum, CloudWatch-shaped, with no SDK types. */
export interface MetricDatum {
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly unit: MetricUnit;
  /** Epoch ms (the window start for per-window metrics). */
  readonly timestampMs: number;
  readonly value?: number;
  /** Distribution form: values with their counts (from the sketch's buckets). */
  readonly values?: readonly number[];
  readonly counts?: readonly number[];
}

export interface MetricSink {
  publish(data: readonly MetricDatum[]): Promise<void>;
  /** Sends anything buffered. */
  flush(): Promise<void>;
}

/** Structured log lines; Powertools Logger in Lambda, JSON lines or a terminal locally. */
export interface LogSink {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A log sink that drops everything (tests, `--quiet`). */
export const silentLog: LogSink = {
  info() {},
  warn() {},
  error() {},
};
