/**
 * Metrics to CloudWatch with `PutMetricData`, batched to the API's limits: at most 1,000 data per
 * call, a request body under 1 MB, and at most 150 distinct values per `Values`/`Counts` datum
 * (bigger distributions are split into several data of the same metric, which CloudWatch
 * aggregates back together, so its percentile statistics see every value).
 */
import {
  type CloudWatchClient,
  type MetricDatum as CwDatum,
  PutMetricDataCommand,
} from '@aws-sdk/client-cloudwatch';
import { TracelakeError } from '../core/errors.js';
import type { MetricDatum, MetricSink } from '../core/ports.js';
import { awsClients, type Env, makeCloudWatchClient } from './aws-clients.js';

export interface CloudWatchSinkOptions {
  /** Default `Tracelake`. */
  readonly namespace?: string;
  /** Data per call (API maximum 1,000). */
  readonly maxDataPerCall?: number;
  /** Request body budget in bytes (API maximum 1 MB); kept below it for the JSON envelope. */
  readonly maxBytesPerCall?: number;
  /** Distinct values per datum (API maximum 150). */
  readonly maxValuesPerDatum?: number;
}

export const PUT_METRIC_DATA_LIMITS = Object.freeze({ data: 1000, bytes: 1_000_000, values: 150 });

/** CloudWatch rejects values outside about ±2^360 and anything not finite. */
const MAX_ABS = 2 ** 360;
const MIN_ABS = 2 ** -260;

function validValue(v: number): boolean {
  return Number.isFinite(v) && (v === 0 || (Math.abs(v) < MAX_ABS && Math.abs(v) > MIN_ABS));
}

/**
 * Our datum as one or more SDK data: distributions with more than `maxValues` distinct values
 * become several data of the same metric; invalid values are dropped.
 */
export function toCloudWatchData(
  datum: MetricDatum,
  maxValues: number = PUT_METRIC_DATA_LIMITS.values,
): CwDatum[] {
  const base: CwDatum = {
    MetricName: datum.name,
    Dimensions: Object.entries(datum.dimensions)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([Name, Value]) => ({ Name, Value })),
    Unit: datum.unit,
    Timestamp: new Date(datum.timestampMs),
  };
  if (datum.values && datum.values.length > 0) {
    // Distinct values: CloudWatch wants each value once, with its count.
    const merged = new Map<number, number>();
    datum.values.forEach((v, i) => {
      const c = datum.counts?.[i] ?? 1;
      if (!validValue(v) || !(c > 0) || !Number.isFinite(c)) return;
      merged.set(v, (merged.get(v) ?? 0) + c);
    });
    const pairs = [...merged.entries()].sort((a, b) => a[0] - b[0]);
    const out: CwDatum[] = [];
    for (let i = 0; i < pairs.length; i += maxValues) {
      const slice = pairs.slice(i, i + maxValues);
      out.push({ ...base, Values: slice.map((p) => p[0]), Counts: slice.map((p) => p[1]) });
    }
    return out;
  }
  if (datum.value === undefined || !validValue(datum.value)) return [];
  return [{ ...base, Value: datum.value }];
}

/** Bytes a datum adds to an awsJson request body (the SDK sends timestamps as epoch seconds). */
function sizeOf(d: CwDatum): number {
  return Buffer.byteLength(JSON.stringify({ ...d, Timestamp: 1_700_000_000.123 })) + 1;
}

export class CloudWatchMetricSink implements MetricSink {
  private readonly namespace: string;
  private readonly maxData: number;
  private readonly maxBytes: number;
  private readonly maxValues: number;
  private buffer: CwDatum[] = [];
  private bufferBytes = 0;
  private calls = 0;
  private sent = 0;
  private dropped = 0;

  constructor(
    private readonly client: CloudWatchClient,
    options: CloudWatchSinkOptions = {},
  ) {
    this.namespace = options.namespace ?? 'Tracelake';
    this.maxData = Math.min(
      options.maxDataPerCall ?? PUT_METRIC_DATA_LIMITS.data,
      PUT_METRIC_DATA_LIMITS.data,
    );
    // Room for the envelope: {"Namespace":"…","MetricData":[…]}.
    this.maxBytes = Math.min(options.maxBytesPerCall ?? 900_000, PUT_METRIC_DATA_LIMITS.bytes - 1024);
    this.maxValues = Math.min(options.maxValuesPerDatum ?? 150, PUT_METRIC_DATA_LIMITS.values);
  }

  /** Calls made, data sent and data dropped (invalid values) so far. */
  stats(): { calls: number; sent: number; dropped: number } {
    return { calls: this.calls, sent: this.sent, dropped: this.dropped };
  }

  async publish(data: readonly MetricDatum[]): Promise<void> {
    for (const datum of data) {
      const converted = toCloudWatchData(datum, this.maxValues);
      if (converted.length === 0) this.dropped++;
      for (const d of converted) {
        const size = sizeOf(d);
        if (this.buffer.length >= this.maxData || this.bufferBytes + size > this.maxBytes) await this.send();
        this.buffer.push(d);
        this.bufferBytes += size;
      }
    }
  }

  async flush(): Promise<void> {
    if (this.buffer.length > 0) await this.send();
  }

  private async send(): Promise<void> {
    const batch = this.buffer;
    this.buffer = [];
    this.bufferBytes = 0;
    if (batch.length === 0) return;
    try {
      await this.client.send(new PutMetricDataCommand({ Namespace: this.namespace, MetricData: batch }));
    } catch (e) {
      const reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      throw new TracelakeError(
        `CloudWatch PutMetricData (${this.namespace}, ${batch.length} data) failed: ${reason}`,
        { cause: e },
      );
    }
    this.calls++;
    this.sent += batch.length;
  }
}

/**
 * A CloudWatch sink whose client follows `AWS_ENDPOINT_URL_CLOUDWATCH` in `env`.
 *
 * @example const sink = cloudWatchSinkFromEnv('Tracelake', process.env);
 */
export function cloudWatchSinkFromEnv(namespace: string, env: Env): CloudWatchMetricSink {
  const client = env === process.env ? awsClients.cloudwatch : makeCloudWatchClient({}, env);
  return new CloudWatchMetricSink(client, { namespace });
}
