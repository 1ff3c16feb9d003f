import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { flattenTrace, linkTrace } from '../../lib/core/flatten.js';
import { DEFAULT_WINDOW_MS, type SpanNode, type SpanRow, type StatsRow } from '../../lib/core/model.js';
import { decodeOtelRecord } from '../../lib/core/otel/decode.js';
import { WindowAggregator } from '../../lib/core/stats/aggregate.js';
import { decodeXRayRecord } from '../../lib/core/xray/decode.js';
import { type GeneratedTrace, generateTraces } from '../../lib/demo/generate.js';
import { toAwsSpanEvents, toOtlpTracesData, writeOtelDemo } from '../../lib/demo/otel.js';

// A quarter hour of busy traffic with a few traces caught in progress, no broken documents.
const TRAFFIC = { seed: 11, hours: 0.25, requestsPerSecond: 3, inProgressFraction: 0.02, brokenDocuments: 0 };
const traces: GeneratedTrace[] = [...generateTraces(TRAFFIC)];

interface Flattened {
  rows: SpanRow[];
  inProgress: number;
}

function flattenGroups(groups: Map<string, SpanNode[]>): Flattened {
  const rows: SpanRow[] = [];
  let inProgress = 0;
  for (const [traceId, nodes] of groups) {
    const { roots } = linkTrace(traceId, nodes);
    const out = flattenTrace(traceId, roots, DEFAULT_WINDOW_MS);
    rows.push(...out.spans);
    inProgress += out.inProgress;
  }
  return { rows, inProgress };
}

function viaXRay(): Flattened {
  const groups = new Map<string, SpanNode[]>();
  for (const t of traces) {
    const value = {
      Id: t.traceId,
      Segments: t.segments.map((d) => ({ Id: 'x', Document: JSON.stringify(d) })),
    };
    const decoded = decodeXRayRecord({ value, location: { source: 'xray' } });
    expect(decoded?.rejections).toEqual([]);
    for (const trace of decoded?.traces ?? []) groups.set(trace.traceId, trace.nodes);
  }
  return flattenGroups(groups);
}

/** Every OTel span decoded from its own record (as NDJSON lines or separate OTLP batches arrive). */
function viaOtel(format: 'aws-spans' | 'otlp'): Flattened & { rejected: number } {
  const groups = new Map<string, SpanNode[]>();
  let rejected = 0;
  const take = (value: unknown): void => {
    const decoded = decodeOtelRecord({ value, location: { source: format } });
    expect(decoded).not.toBeNull();
    rejected += decoded?.rejections.length ?? 0;
    for (const node of decoded?.loose ?? []) {
      const list = groups.get(node.traceId) ?? [];
      list.push(node);
      groups.set(node.traceId, list);
    }
  };
  for (const t of traces) {
    if (format === 'aws-spans') for (const event of toAwsSpanEvents(t.segments).output) take(event);
    else {
      const data = toOtlpTracesData(t.segments).output;
      if (data) take(data);
    }
  }
  return { ...flattenGroups(groups), rejected };
}

function aggregate(rows: readonly SpanRow[]): Map<string, StatsRow> {
  const agg = new WindowAggregator({ windowMs: DEFAULT_WINDOW_MS });
  for (const row of rows) agg.add(row);
  const out = new Map<string, StatsRow>();
  for (const w of agg.windows()) for (const s of agg.statsRows(w)) out.set(`${w} ${s.key}`, s);
  return out;
}

const xray = viaXRay();
// Transaction Search has no counterpart of the segments X-Ray infers for AWS services.
const xrayRows = xray.rows.filter((r) => !r.inferred);

describe.each(['aws-spans', 'otlp'] as const)('the same traces through X-Ray and through %s', (format) => {
  const otel = viaOtel(format);

  it('yields the same span rows: ids, tree, names, keys, durations and self times', () => {
    expect(otel.rejected).toBe(0);
    expect(xrayRows.length).toBeGreaterThan(2000);
    expect(otel.rows.length).toBe(xrayRows.length);
    const byId = new Map(otel.rows.map((r) => [`${r.trace_id}/${r.id}`, r]));
    for (const x of xrayRows) {
      const o = byId.get(`${x.trace_id}/${x.id}`);
      expect(o, `span ${x.id} (${x.path})`).toBeDefined();
      if (!o) continue;
      const same = (r: SpanRow) => ({
        parent: r.parent_id,
        segment: r.segment_id,
        service: r.service,
        origin: r.origin,
        name: r.name,
        kind: r.kind,
        namespace: r.namespace,
        path: r.path,
        depth: r.depth,
        op: r.aws_operation,
        resource: r.kind === 'segment' ? null : r.aws_resource,
        method: r.http_method,
        status: r.http_status,
        window: r.window_start,
        version: r.service_version,
      });
      expect(same(o)).toEqual(same(x));
      // Both carry float64 epoch times (X-Ray seconds, aws/spans nanoseconds): a few tenths of a
      // microsecond each, summed over a span's children for its self time.
      expect(Math.abs(o.duration_ms - x.duration_ms)).toBeLessThan(1e-3);
      expect(Math.abs(o.self_ms - x.self_ms)).toBeLessThan(5e-3);
      if (format === 'aws-spans' || x.http_status !== null) {
        expect({ e: o.error, f: o.fault, t: o.throttle }).toEqual({ e: x.error, f: x.fault, t: x.throttle });
      } else {
        // Without an HTTP status, OTLP's only failure signal is status ERROR, read as a fault.
        expect(o.error || o.fault).toBe(x.error || x.fault);
      }
    }
  });

  it('yields the same keys and statistics within the sketch error', () => {
    const xs = aggregate(xrayRows);
    const os = aggregate(otel.rows);
    expect([...os.keys()].sort()).toEqual([...xs.keys()].sort());
    for (const [key, x] of xs) {
      const o = os.get(key)!;
      expect(o.count, key).toBe(x.count);
      expect(o.throttle_count, key).toBe(x.throttle_count);
      expect(o.error_count + o.fault_count, key).toBe(x.error_count + x.fault_count);
      for (const p of ['p50_ms', 'p90_ms', 'p99_ms', 'self_p50_ms'] as const) {
        expect(Math.abs(o[p] - x[p]), `${key} ${p}`).toBeLessThanOrEqual(0.02 * x[p] + 1e-6);
      }
    }
  });

  it('loses only what OpenTelemetry cannot carry', () => {
    const inferredKeys = new Set(xray.rows.filter((r) => r.inferred).map((r) => `${r.service} ${r.name}`));
    expect(inferredKeys.size).toBeGreaterThan(0);
    // In-progress spans: kept (and kept out of the rows) in aws/spans; never exported in OTLP.
    expect(xray.inProgress).toBeGreaterThan(0);
    expect(otel.inProgress).toBe(format === 'aws-spans' ? xray.inProgress : 0);
  });
});

describe('toAwsSpanEvents and toOtlpTracesData', () => {
  const trace = traces.find((t) =>
    t.segments.some((d) => typeof d !== 'string' && d.origin === 'AWS::ApiGateway::Stage'),
  )!;

  it('write aws/spans events the way CloudWatch stores X-Ray data', () => {
    const { output } = toAwsSpanEvents(trace.segments);
    const dynamo = output.find((e) => (e._aws as { xray: { name: string } }).xray.name === 'DynamoDB');
    expect(dynamo).toMatchObject({
      kind: 'CLIENT',
      traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
      spanId: expect.stringMatching(/^[0-9a-f]{16}$/),
      attributes: {
        'rpc.system': 'aws-api',
        'rpc.service': 'DynamoDB',
        'aws.xray.throttle': expect.any(Boolean),
      },
      _aws: { xray: { name: 'DynamoDB', namespace: 'aws', type: 'subsegment' } },
    });
    expect(typeof dynamo?.startTimeUnixNano).toBe('number');
    expect(Number.isInteger(dynamo?.durationNano)).toBe(true);
  });

  it('write OTLP/JSON with hex ids, numeric kinds, nanosecond strings and typed attributes', () => {
    const data = toOtlpTracesData(trace.segments).output!;
    const text = JSON.stringify(data);
    expect(text).not.toContain('_aws');
    const spans = (data.resourceSpans as { scopeSpans: { spans: Record<string, unknown>[] }[] }[]).flatMap(
      (rs) => rs.scopeSpans.flatMap((ss) => ss.spans),
    );
    expect(
      spans.every((s) => typeof s.startTimeUnixNano === 'string' && /^\d{19}$/.test(s.startTimeUnixNano)),
    ).toBe(true);
    expect(new Set(spans.map((s) => s.kind))).toEqual(new Set([1, 2, 3]));
    expect(text).toContain(
      '{"key":"aws.dynamodb.table_names","value":{"arrayValue":{"values":[{"stringValue":',
    );
  });
});

describe('writeOtelDemo', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each(['aws-spans', 'otlp'] as const)(
    'writes %s files whose spans decode to the manifest counts',
    async (format) => {
      dir ||= await mkdtemp(path.join(tmpdir(), 'tracelake-otel-demo-'));
      const out = path.join(dir, format);
      const manifest = await writeOtelDemo(
        out,
        { seed: 5, hours: 0.2, requestsPerSecond: 1, brokenDocuments: 3 },
        format,
      );
      expect(manifest.windows).toBe(3);
      expect(manifest.files).toHaveLength(3);
      let complete = 0;
      let inProgress = 0;
      let rejected = 0;
      let unparsable = 0;
      for (const file of manifest.files) {
        const lines = (await readFile(path.join(out, file), 'utf8')).split('\n').filter((l) => l !== '');
        for (const line of lines) {
          let value: unknown;
          try {
            value = JSON.parse(line);
          } catch {
            unparsable++;
            continue;
          }
          const decoded = decodeOtelRecord({ value, location: { source: file } })!;
          rejected += decoded.rejections.length;
          complete += decoded.loose.filter((n) => n.endMs !== null).length;
          inProgress += decoded.loose.filter((n) => n.endMs === null).length;
        }
      }
      expect(complete).toBe(manifest.completeSpans);
      expect(inProgress).toBe(manifest.inProgressSpans);
      // Three broken documents: a bad span ID, an end before the start, a line cut off mid-way.
      expect(manifest.brokenDocuments).toBe(3);
      expect({ rejected, unparsable }).toEqual({ rejected: 2, unparsable: 1 });
      const written = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
      expect(written).toEqual(manifest);
    },
  );
});
