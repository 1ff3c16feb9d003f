/**
 * Metrics as CloudWatch Embedded Metric Format (EMF) JSON lines, to a file or a stream. In Lambda
 * the lines go to stdout and CloudWatch Logs extracts the metrics; locally they land in the lake
 * folder for inspection.
 *
 * One object per timestamp and dimension set:
 * `{"_aws":{"Timestamp":…,"CloudWatchMetrics":[{"Namespace":…,"Dimensions":[["Service","Subsegment"]],
 * "Metrics":[{"Name":"Requests","Unit":"Count"},…]}]},"Service":…,"Subsegment":…,"Requests":12,…}`.
 * Distributions are `{"Values":[…],"Counts":[…]}`. EMF limits are kept by splitting: at most 100
 * metrics per object and 100 values per distribution (a longer one continues in further objects).
 */
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { LakeError } from '../core/errors.js';
import type { MetricDatum, MetricSink } from '../core/ports.js';

/** EMF: at most 100 metric definitions in one MetricDirective. */
export const EMF_MAX_METRICS = 100;
/** EMF: at most 100 values in one metric's value array. */
export const EMF_MAX_VALUES = 100;
/** EMF: at most 30 dimension keys in one DimensionSet. */
export const EMF_MAX_DIMENSIONS = 30;

export interface EmfMetricSinkOptions {
  /** @default 'Tracelake' */
  readonly namespace?: string;
  /** A file path (appended to; folders created) or a writable stream such as `process.stdout`. */
  readonly target: string | { write(chunk: string): unknown };
}

type EmfValue = number | { Values: number[]; Counts: number[] };

interface Group {
  readonly timestampMs: number;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly metrics: { name: string; unit: string; value: EmfValue }[];
}

/** Splits one datum into EMF values; a distribution longer than the limit becomes several. */
function emfValues(d: MetricDatum): EmfValue[] {
  if (d.values !== undefined) {
    const values = d.values;
    const counts = d.counts ?? values.map(() => 1);
    if (counts.length !== values.length) {
      throw new LakeError(`metric ${d.name}: ${values.length} values but ${counts.length} counts`);
    }
    const out: EmfValue[] = [];
    for (let i = 0; i < values.length; i += EMF_MAX_VALUES) {
      out.push({ Values: values.slice(i, i + EMF_MAX_VALUES), Counts: counts.slice(i, i + EMF_MAX_VALUES) });
    }
    return out;
  }
  if (d.value === undefined || !Number.isFinite(d.value)) {
    throw new LakeError(`metric ${d.name}: needs a finite value or values/counts`);
  }
  return [d.value];
}

/**
 * Builds the EMF objects for a batch of data (exported for tests and tools). Data sharing a
 * timestamp and dimension set share objects; a metric name appears at most once per object.
 */
export function toEmfObjects(namespace: string, data: readonly MetricDatum[]): Record<string, unknown>[] {
  const groups = new Map<string, Group[]>();
  for (const d of data) {
    const dimNames = Object.keys(d.dimensions).sort();
    if (dimNames.length > EMF_MAX_DIMENSIONS) {
      throw new LakeError(
        `metric ${d.name}: ${dimNames.length} dimensions (EMF allows ${EMF_MAX_DIMENSIONS})`,
      );
    }
    if (dimNames.includes(d.name) || d.name === '_aws') {
      throw new LakeError(`metric ${d.name}: the name collides with a dimension or the _aws member`);
    }
    const id = JSON.stringify([d.timestampMs, dimNames.map((k) => [k, d.dimensions[k]])]);
    let list = groups.get(id);
    if (!list) {
      list = [];
      groups.set(id, list);
    }
    for (const value of emfValues(d)) {
      // First object of this group that has room and does not hold this name yet.
      let group = list.find(
        (g) => g.metrics.length < EMF_MAX_METRICS && !g.metrics.some((m) => m.name === d.name),
      );
      if (!group) {
        group = { timestampMs: d.timestampMs, dimensions: d.dimensions, metrics: [] };
        list.push(group);
      }
      group.metrics.push({ name: d.name, unit: d.unit, value });
    }
  }
  const out: Record<string, unknown>[] = [];
  for (const list of groups.values()) {
    for (const g of list) {
      const dimNames = Object.keys(g.dimensions).sort();
      const obj: Record<string, unknown> = {
        _aws: {
          Timestamp: Math.round(g.timestampMs),
          CloudWatchMetrics: [
            {
              Namespace: namespace,
              Dimensions: [dimNames],
              Metrics: g.metrics.map((m) => ({ Name: m.name, Unit: m.unit })),
            },
          ],
        },
      };
      for (const k of dimNames) obj[k] = g.dimensions[k];
      for (const m of g.metrics) obj[m.name] = m.value;
      out.push(obj);
    }
  }
  return out;
}

export class EmfMetricSink implements MetricSink {
  private readonly namespace: string;
  private readonly target: EmfMetricSinkOptions['target'];
  private pending: string[] = [];

  constructor(options: EmfMetricSinkOptions) {
    this.namespace = options.namespace ?? 'Tracelake';
    this.target = options.target;
    if (this.namespace === '' || this.namespace.length > 255) {
      throw new LakeError(`EMF namespace "${this.namespace}" must be 1 to 255 characters`);
    }
  }

  async publish(data: readonly MetricDatum[]): Promise<void> {
    for (const obj of toEmfObjects(this.namespace, data)) this.pending.push(`${JSON.stringify(obj)}\n`);
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    if (typeof this.target === 'string') {
      try {
        await mkdir(path.dirname(this.target), { recursive: true });
        await appendFile(this.target, text);
      } catch (err) {
        throw new LakeError(`cannot write metrics to ${this.target}`, { cause: err });
      }
    } else {
      this.target.write(text);
    }
  }
}
