import { describe, expect, it } from 'vitest';
import { decodeOtelRecord } from '../../../lib/core/otel/decode.js';
import { decodeFixture } from './fixtures.js';

describe('invalid/ fixtures: each bad span rejected with a clear reason, good parts kept', () => {
  it('rejects OTel log records and plain app logs found among spans', () => {
    const out = decodeFixture(
      'invalid/agentcore-otel-runtime-log-records-not-spans-logsinsights-wrapper.json',
    );
    expect(out.loose).toEqual([]);
    const reasons = out.rejections.map((r) => r.reason);
    expect(reasons).toHaveLength(16);
    expect(
      reasons.filter((r) => r === 'an OpenTelemetry log record (timeUnixNano, severity, body), not a span'),
    ).toHaveLength(14);
    expect(reasons.filter((r) => r === 'not an OpenTelemetry span (no traceId or spanId)')).toHaveLength(2);
    expect(out.rejections[0]?.location.pointer).toBe('[0].raw_otel_json');
    expect(JSON.parse(out.rejections[0]!.raw)).toMatchObject({ level: 'INFO' });
  });

  it.each([
    [
      'invalid/dev7a-aws-spans-missing-endtime-synthetic.json',
      'span "test-span" 0123456789abcdef: startTimeUnixNano is missing',
    ],
    [
      'invalid/dev7a-aws-spans-null-endtime-synthetic.json',
      'span "test-span" 0123456789abcdef: startTimeUnixNano is missing',
    ],
    [
      'invalid/obp-aws-spans-doc-sample-model-call-abbreviated-no-scope-kind-times-status.json',
      'span "chat us.anthropic.claude-sonnet-4-6" 1a2b3c4d5e6f7a8b: startTimeUnixNano is missing',
    ],
    [
      'invalid/obp-aws-spans-doc-sample-tool-span-abbreviated-no-resource-scope-kind-times.json',
      'span "execute_tool http_request" 2b3c4d5e6f7a8b9c: startTimeUnixNano is missing',
    ],
    [
      'invalid/otelcol-pdata-span-invalid-trace-id-snake-case-key.json',
      'uses protobuf field names (trace_id, span_id, resource_spans); OTLP/JSON keys are lowerCamelCase (traceId)',
    ],
  ])('%s', (file, reason) => {
    const out = decodeFixture(file);
    expect(out.loose).toEqual([]);
    expect(out.rejections.map((r) => r.reason)).toEqual([reason]);
    expect(out.rejections[0]?.location.source).toBe(file);
  });

  it('keeps the first of two complete copies of one span and rejects the second', () => {
    const out = decodeFixture('invalid/jaeger-otlp-json-telemetrygen-duplicate-span-id.json');
    expect(out.loose).toHaveLength(1);
    expect(out.rejections).toHaveLength(1);
    expect(out.rejections[0]).toMatchObject({
      reason:
        'span "telemetrygen" e127af99e3b3e074: duplicate span ID in trace 1-83a9efd1-5c1c98a977e0711cc93ee28b (first copy kept)',
      location: { pointer: 'resourceSpans[0].scopeSpans[0].spans[1]' },
    });
  });

  it('rejects every span of the file exporter example, whose ids are all empty, line by line', () => {
    const out = decodeFixture('invalid/otelspec-file-exporter-traces-jsonl-empty-trace-and-span-ids.jsonl');
    expect(out.loose).toEqual([]);
    expect(out.rejections).toHaveLength(8);
    expect(out.rejections.map((r) => r.location.line)).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    expect(new Set(out.rejections.map((r) => r.reason))).toEqual(
      new Set(['span "operationA": traceId "" is empty', 'span "operationB": traceId "" is empty']),
    );
  });
});

describe('bad spans beside good ones', () => {
  const good = {
    traceId: '687fef146c953a381404ee3a4b2b69f5',
    spanId: '0dac6942eb7c7c51',
    name: 'GET /orders',
    kind: 'SERVER',
    startTimeUnixNano: 1753214740793000000,
    endTimeUnixNano: 1753214740869000000,
  };
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'non-hex span id',
      { spanId: 'order-wkr-1a2b3c' },
      'span "GET /orders": spanId "order-wkr-1a2b3c" is not 16 hex digits',
    ],
    [
      'short trace id',
      { traceId: '687fef14' },
      'span "GET /orders": traceId "687fef14" is not 32 hex digits',
    ],
    [
      'all-zero trace id',
      { traceId: '0'.repeat(32) },
      'span "GET /orders": traceId is all zeros (invalid in W3C trace context)',
    ],
    ['numeric span id', { spanId: 42 }, 'span "GET /orders": spanId is a number, not a string'],
    [
      'bad parent',
      { parentSpanId: 'xyz' },
      'span "GET /orders" 0dac6942eb7c7c51: parentSpanId "xyz" is not 16 hex digits',
    ],
    ['no name', { name: undefined }, 'span 0dac6942eb7c7c51: name is missing or not a string'],
    [
      'unknown kind',
      { kind: 'SIDEWAYS' },
      'span "GET /orders" 0dac6942eb7c7c51: kind "SIDEWAYS" is not a span kind',
    ],
    [
      'end before start',
      { endTimeUnixNano: 1753214740693000000 },
      'span "GET /orders" 0dac6942eb7c7c51: ends before it starts (end 1753214740693.000 ms < start 1753214740793.000 ms)',
    ],
    [
      'negative duration',
      { durationNano: -5 },
      'span "GET /orders" 0dac6942eb7c7c51: durationNano -5 is not a non-negative nanosecond count',
    ],
    [
      'no end at all',
      { endTimeUnixNano: undefined },
      'span "GET /orders" 0dac6942eb7c7c51: endTimeUnixNano is missing (and no durationNano)',
    ],
    [
      'zero start',
      { startTimeUnixNano: '0' },
      'span "GET /orders" 0dac6942eb7c7c51: startTimeUnixNano "0" is not a positive nanosecond count',
    ],
  ];

  it.each(cases)('%s', (_label, change, reason) => {
    const bad = { ...good, ...change, spanId: 'spanId' in change ? change.spanId : '0dac6942eb7c7c52' };
    const sibling = { ...good };
    const out = decodeOtelRecord({ value: [sibling, bad], location: { source: 'spans.ndjson', line: 3 } })!;
    expect(out.loose.map((n) => n.id)).toEqual(['0dac6942eb7c7c51']);
    expect(out.rejections).toHaveLength(1);
    expect(out.rejections[0]?.reason).toBe(reason.replace('0dac6942eb7c7c51', '0dac6942eb7c7c52'));
    expect(out.rejections[0]?.location).toEqual({ source: 'spans.ndjson', line: 3, pointer: '[1]' });
    expect(JSON.parse(out.rejections[0]!.raw)).toEqual(JSON.parse(JSON.stringify(bad)));
  });
});
