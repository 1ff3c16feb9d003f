import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EMF_MAX_METRICS, EMF_MAX_VALUES, EmfMetricSink, toEmfObjects } from '../../lib/adapters/emf-sink.js';
import { healthMetrics, OVERFLOW_DIMENSION, windowMetrics } from '../../lib/core/metrics.js';
import type { StatsRow } from '../../lib/core/model.js';
import type { MetricDatum } from '../../lib/core/ports.js';
import { DDSketch } from '../../lib/core/stats/ddsketch.js';

const W = Date.UTC(2026, 0, 1, 10, 5);
const UNITS = new Set(['Milliseconds', 'Count', 'Seconds', 'None']);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks one EMF object against the structure of the CloudWatch EMF specification: the `_aws`
 * metadata with an integer Timestamp and MetricDirectives (Namespace, Dimensions as arrays of
 * dimension keys present as strings at the root, Metrics as {Name, Unit} present at the root as a
 * number or a Values/Counts distribution), no unknown members, and the size limits.
 */
function emfProblems(obj: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(obj) || !isObject(obj._aws)) return ['no _aws object'];
  const aws = obj._aws;
  if (!Number.isInteger(aws.Timestamp)) problems.push('Timestamp is not an integer');
  const extraAws = Object.keys(aws).filter((k) => k !== 'Timestamp' && k !== 'CloudWatchMetrics');
  if (extraAws.length) problems.push(`unknown _aws members ${extraAws}`);
  if (!Array.isArray(aws.CloudWatchMetrics) || aws.CloudWatchMetrics.length === 0)
    return [...problems, 'no directives'];
  for (const dir of aws.CloudWatchMetrics as unknown[]) {
    if (!isObject(dir)) return [...problems, 'directive is not an object'];
    const extra = Object.keys(dir).filter((k) => !['Namespace', 'Dimensions', 'Metrics'].includes(k));
    if (extra.length) problems.push(`unknown directive members ${extra}`);
    if (typeof dir.Namespace !== 'string' || dir.Namespace.length === 0) problems.push('bad Namespace');
    if (!Array.isArray(dir.Dimensions)) problems.push('Dimensions is not an array');
    for (const set of (dir.Dimensions as unknown[]) ?? []) {
      if (!Array.isArray(set) || set.length > 30) problems.push('bad DimensionSet');
      for (const key of set as unknown[]) {
        if (typeof key !== 'string' || typeof obj[key] !== 'string')
          problems.push(`dimension ${key} missing`);
      }
    }
    if (!Array.isArray(dir.Metrics) || dir.Metrics.length > 100) problems.push('bad Metrics');
    const names = new Set<string>();
    for (const m of (dir.Metrics as unknown[]) ?? []) {
      if (!isObject(m) || typeof m.Name !== 'string') {
        problems.push('bad MetricDefinition');
        continue;
      }
      if (Object.keys(m).some((k) => k !== 'Name' && k !== 'Unit' && k !== 'StorageResolution')) {
        problems.push(`unknown members in ${m.Name}`);
      }
      if (names.has(m.Name)) problems.push(`duplicate ${m.Name}`);
      names.add(m.Name);
      if (m.Unit !== undefined && !UNITS.has(String(m.Unit))) problems.push(`unit ${m.Unit}`);
      const v = obj[m.Name];
      if (typeof v === 'number') continue;
      if (
        !isObject(v) ||
        !Array.isArray(v.Values) ||
        !Array.isArray(v.Counts) ||
        v.Values.length !== v.Counts.length ||
        v.Values.length === 0 ||
        v.Values.length > 100 ||
        !v.Values.every((x) => typeof x === 'number')
      ) {
        problems.push(`value of ${m.Name} is not a number or a Values/Counts distribution`);
      }
    }
  }
  return problems;
}

function latencyDatum(
  bins: number,
  dims: Record<string, string> = { Service: 's', Subsegment: 'x' },
): MetricDatum {
  return {
    name: 'Latency',
    unit: 'Milliseconds',
    dimensions: dims,
    timestampMs: W,
    values: Array.from({ length: bins }, (_, i) => 1 + i),
    counts: Array.from({ length: bins }, (_, i) => i + 1),
  };
}

describe('toEmfObjects', () => {
  it('makes one valid object per timestamp and dimension set', () => {
    const data: MetricDatum[] = [
      latencyDatum(3),
      {
        name: 'Requests',
        unit: 'Count',
        dimensions: { Subsegment: 'x', Service: 's' },
        timestampMs: W,
        value: 6,
      },
      {
        name: 'Requests',
        unit: 'Count',
        dimensions: { Service: 't', Subsegment: 'x' },
        timestampMs: W,
        value: 1,
      },
      ...healthMetrics({
        tracesProcessed: 5,
        documentsRejected: 0,
        degradingSubsegments: 0,
        timestampMs: W + 1,
      }),
    ];

    const objs = toEmfObjects('Tracelake', data);

    expect(objs).toHaveLength(3);
    for (const o of objs) expect(emfProblems(o)).toEqual([]);
    expect(objs[0]).toEqual({
      _aws: {
        Timestamp: W,
        CloudWatchMetrics: [
          {
            Namespace: 'Tracelake',
            Dimensions: [['Service', 'Subsegment']],
            Metrics: [
              { Name: 'Latency', Unit: 'Milliseconds' },
              { Name: 'Requests', Unit: 'Count' },
            ],
          },
        ],
      },
      Service: 's',
      Subsegment: 'x',
      Latency: { Values: [1, 2, 3], Counts: [1, 2, 3] },
      Requests: 6,
    });
    expect(
      (objs[2]!._aws as { CloudWatchMetrics: { Dimensions: unknown }[] }).CloudWatchMetrics[0]!.Dimensions,
    ).toEqual([[]]);
    expect(objs[2]!.TracesProcessed).toBe(5);
  });

  it('splits a distribution over 100 values into several objects', () => {
    const d = latencyDatum(250);
    const objs = toEmfObjects('Tracelake', [d]);

    expect(objs).toHaveLength(3);
    for (const o of objs) expect(emfProblems(o)).toEqual([]);
    const parts = objs.map((o) => o.Latency as { Values: number[]; Counts: number[] });
    expect(parts.map((p) => p.Values.length)).toEqual([EMF_MAX_VALUES, EMF_MAX_VALUES, 50]);
    expect(parts.flatMap((p) => p.Values)).toEqual(d.values);
    expect(parts.flatMap((p) => p.Counts)).toEqual(d.counts);
  });

  it('keeps at most 100 metrics in one object', () => {
    const data = Array.from(
      { length: 150 },
      (_, i): MetricDatum => ({ name: `M${i}`, unit: 'Count', dimensions: {}, timestampMs: W, value: i }),
    );
    const objs = toEmfObjects('Tracelake', data);
    expect(objs.map((o) => Object.keys(o).filter((k) => k.startsWith('M')).length)).toEqual([
      EMF_MAX_METRICS,
      50,
    ]);
    for (const o of objs) expect(emfProblems(o)).toEqual([]);
  });

  it('rejects data EMF cannot carry', () => {
    const bad = (d: Partial<MetricDatum>) => () =>
      toEmfObjects('T', [{ name: 'X', unit: 'Count', dimensions: {}, timestampMs: W, ...d }]);
    expect(bad({ value: Number.NaN })).toThrow(/finite value/);
    expect(bad({ values: [1, 2], counts: [1] })).toThrow(/2 values but 1 counts/);
    expect(bad({ name: 'Service', value: 1, dimensions: { Service: 'a' } })).toThrow(/collides/);
  });
});

describe('EmfMetricSink', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tracelake-emf-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends JSON lines to a file, creating its folder', async () => {
    const file = path.join(dir, '_metrics', 'deep', 'emf.ndjson');
    const sink = new EmfMetricSink({ namespace: 'Custom', target: file });
    await sink.publish([latencyDatum(2)]);
    await sink.flush();
    await sink.publish([latencyDatum(1, { Service: 'other', Subsegment: 'y' })]);
    await sink.flush();
    await sink.flush();

    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const objs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const o of objs) expect(emfProblems(o)).toEqual([]);
    expect(objs.map((o) => o.Service)).toEqual(['s', 'other']);
    expect(lines[0]).toContain('"Namespace":"Custom"');
  });

  it('writes to a stream, and the overflow key of real window metrics sums correctly', async () => {
    // Prepare: 4 keys with 40, 30, 20 and 10 requests; keyCap 1 folds the last three.
    const rows: StatsRow[] = [];
    const sketches = new Map<StatsRow, DDSketch>();
    [40, 30, 20, 10].forEach((n, i) => {
      const sketch = new DDSketch();
      for (let k = 0; k < n; k++) sketch.add(1 + k * (i + 1));
      const row = {
        window_start: W,
        kind: 'subsegment',
        service: `svc${i}`,
        name: 'DynamoDB',
        aws_operation: 'Query',
        aws_resource: 't',
        count: n,
        error_count: 1,
        fault_count: 0,
        throttle_count: i,
      } as StatsRow;
      rows.push(row);
      sketches.set(row, sketch);
    });
    let written = '';
    const sink = new EmfMetricSink({ target: { write: (s: string) => (written += s) } });

    // Act
    await sink.publish(windowMetrics(rows, (r) => sketches.get(r)!, { keyCap: 1 }));
    await sink.flush();

    // Assess
    const objs = written
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const o of objs) expect(emfProblems(o)).toEqual([]);
    const other = objs.filter((o) => o.Service === OVERFLOW_DIMENSION);
    expect(other[0]).toMatchObject({
      Subsegment: OVERFLOW_DIMENSION,
      Requests: 60,
      Errors: 3,
      Throttles: 1 + 2 + 3,
    });
    const latencyCounts = other.flatMap((o) => (o.Latency as { Counts: number[] } | undefined)?.Counts ?? []);
    expect(latencyCounts.reduce((a, b) => a + b, 0)).toBe(60);
    expect(objs.find((o) => o.Service === 'svc0')).toMatchObject({
      Subsegment: 'DynamoDB Query t',
      Requests: 40,
    });
    expect(objs.some((o) => o.Service === 'svc1')).toBe(false);
    expect(written).toContain('"Namespace":"Tracelake"');
  });
});
