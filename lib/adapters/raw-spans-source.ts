/**
 * The cloud path for CloudWatch Transaction Search: `aws/spans` log events delivered by a
 * subscription filter into Amazon Data Firehose, which writes gzip batches to the lake bucket under
 * a raw prefix in its `YYYY/MM/DD/HH/` (UTC) layout. This source lists the objects that can hold a
 * window's spans, reads them and yields each JSON value as a `record` for the OpenTelemetry decoder.
 *
 * It reads every layout Firehose can produce from that pipe: one span event per line (decompression,
 * message extraction and a newline delimiter, as `infra/constructs/spans-delivery.ts` configures),
 * and CloudWatch Logs envelopes, decompressed or still gzip members, concatenated without delimiters.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SourceError } from '../core/errors.js';
import type { SourceEvent, SourceStats, TraceSource } from '../core/ports.js';

const gunzipAsync = promisify(gunzip);

const HOUR_MS = 3_600_000;
/** `<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>`: Firehose names an object after its first record's arrival. */
const FIREHOSE_NAME_TIME = /-(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-[^/]*$/;

export interface RawSpansSourceOptions {
  /** Built once per container and injected. */
  readonly s3: S3Client;
  readonly bucket: string;
  /** The raw prefix Firehose writes under, e.g. `raw/aws-spans/`; hours follow as `YYYY/MM/DD/HH/`. */
  readonly prefix: string;
  /**
   * How long after a window ends its spans may still arrive (`TRACELAKE_LAG`). Objects named up to
   * this long after the window's end are read, so late spans are found. @default 180_000
   */
  readonly lagMs?: number;
  /**
   * Firehose's buffering interval: an object named at `t` holds records that arrived until
   * `t + interval`, so objects named this long before the window are read too. @default 300_000
   */
  readonly bufferIntervalMs?: number;
  /** Tolerance for clocks: spans stamped a little after they reached CloudWatch. @default 60_000 */
  readonly skewMs?: number;
  /** Objects downloaded at once (yielded in key order all the same). @default 4 */
  readonly concurrency?: number;
}

/**
 * Reads the raw `aws/spans` objects for a time range from S3.
 *
 * @example
 * const source = new RawSpansSource({ s3: awsClients.s3, bucket: 'lake', prefix: 'raw/aws-spans/', lagMs: 180_000 });
 * for await (const event of source.read({ fromMs, toMs })) { ... }
 */
export class RawSpansSource implements TraceSource {
  private readonly prefix: string;
  private readonly lagMs: number;
  private readonly bufferIntervalMs: number;
  private readonly skewMs: number;
  private readonly concurrency: number;
  private readonly counters = {
    objectsListed: 0,
    objectsRead: 0,
    objectsOutsideRange: 0,
    objectsVanished: 0,
    bytesRead: 0,
    records: 0,
    unparsableRecords: 0,
  };

  constructor(private readonly options: RawSpansSourceOptions) {
    this.prefix =
      options.prefix === '' || options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
    this.lagMs = options.lagMs ?? 180_000;
    this.bufferIntervalMs = options.bufferIntervalMs ?? 300_000;
    this.skewMs = options.skewMs ?? 60_000;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
  }

  describe(): string {
    return `s3://${this.options.bucket}/${this.prefix} (aws/spans via Firehose)`;
  }

  stats(): SourceStats {
    return { ...this.counters };
  }

  async *read(range?: { fromMs: number; toMs: number }): AsyncIterable<SourceEvent> {
    const keys = await this.keysFor(range);
    // A sliding window of downloads, consumed in key order so output is deterministic.
    const pending: Promise<Uint8Array | null>[] = [];
    let next = 0;
    const fill = (): void => {
      while (pending.length < this.concurrency && next < keys.length) {
        const key = keys[next++]!;
        const download = this.download(key);
        // Attach a handler now so a failure waiting in the queue is not reported as unhandled.
        download.catch(() => undefined);
        pending.push(download);
      }
    };
    for (const key of keys) {
      fill();
      const body = await pending.shift()!;
      if (body === null) continue;
      yield* this.records(key, await this.inflate(key, body));
    }
  }

  /** The object keys that may hold spans of traces starting in `range`, sorted. */
  private async keysFor(range?: { fromMs: number; toMs: number }): Promise<string[]> {
    if (!range) return this.list(this.prefix);
    const earliest = range.fromMs - this.skewMs - this.bufferIntervalMs;
    const latest = range.toMs + this.lagMs;
    const keys: string[] = [];
    for (let hour = Math.floor(earliest / HOUR_MS) * HOUR_MS; hour <= latest; hour += HOUR_MS) {
      for (const key of await this.list(`${this.prefix}${hourPath(hour)}`)) {
        const named = firehoseTime(key);
        if (named !== null && (named < earliest || named > latest)) this.counters.objectsOutsideRange++;
        else keys.push(key);
      }
    }
    return keys.sort();
  }

  private async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.options.s3.send(
          new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: prefix, ContinuationToken: token }),
        );
      } catch (error) {
        throw new SourceError(
          `cannot list s3://${this.options.bucket}/${prefix}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      for (const object of page.Contents ?? []) {
        if (object.Key && !object.Key.endsWith('/')) keys.push(object.Key);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    this.counters.objectsListed += keys.length;
    return keys;
  }

  /** The object's bytes, or null when it vanished between listing and reading (lifecycle rules). */
  private async download(key: string): Promise<Uint8Array | null> {
    try {
      const out = await this.options.s3.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      const bytes = out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      this.counters.objectsRead++;
      this.counters.bytesRead += bytes.length;
      return bytes;
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') {
        this.counters.objectsVanished++;
        return null;
      }
      throw new SourceError(`cannot read s3://${this.options.bucket}/${key}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** Gunzips (every member of a multi-member stream) when the bytes are gzip; else text as is. */
  private async inflate(key: string, body: Uint8Array): Promise<string> {
    if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b) {
      try {
        return new TextDecoder().decode(await gunzipAsync(body));
      } catch (error) {
        throw new SourceError(
          `s3://${this.options.bucket}/${key} looks gzip-compressed but does not inflate: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
    return new TextDecoder().decode(body);
  }

  private *records(key: string, text: string): Generator<SourceEvent> {
    const source = `s3://${this.options.bucket}/${key}`;
    const lines = text.split('\n');
    for (const [i, raw] of lines.entries()) {
      const line = raw.trim();
      if (line === '') continue;
      const values = parseConcatenated(line);
      if (values === null) {
        this.counters.unparsableRecords++;
        yield {
          type: 'rejected',
          rejection: { location: { source, line: i + 1 }, reason: 'not valid JSON', raw: line },
        };
        continue;
      }
      for (const [j, value] of values.entries()) {
        this.counters.records++;
        // Values back to back on one line are told apart as `[0]`, `[1]`, …
        const location =
          values.length > 1 ? { source, line: i + 1, pointer: `[${j}]` } : { source, line: i + 1 };
        yield { type: 'record', record: { value, location } };
      }
    }
  }
}

/**
 * One line as JSON values: a whole value, or values written back to back (`{…}{…}`), as Firehose
 * concatenates CloudWatch Logs envelopes when no delimiter is appended. null when not JSON.
 */
export function parseConcatenated(line: string): unknown[] | null {
  try {
    return [JSON.parse(line)];
  } catch {
    // Fall through: maybe several values.
  }
  const values: unknown[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth < 0) return null;
      if (depth === 0) {
        try {
          values.push(JSON.parse(line.slice(start, i + 1)));
        } catch {
          return null;
        }
      }
    } else if (depth === 0 && !/\s/.test(c ?? '')) {
      return null;
    }
  }
  return depth === 0 && values.length > 0 ? values : null;
}

/** `YYYY/MM/DD/HH/` of an epoch-ms hour, UTC, as Firehose writes it. */
export function hourPath(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(11, 13)}/`;
}

/** The arrival time in a Firehose object name, epoch ms, or null when the name has none. */
export function firehoseTime(key: string): number | null {
  const m = FIREHOSE_NAME_TIME.exec(key);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isFinite(ms) ? ms : null;
}
