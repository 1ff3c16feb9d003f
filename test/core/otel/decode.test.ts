import { describe, expect, it } from 'vitest';
import { flattenTrace, linkTrace } from '../../../lib/core/flatten.js';
import type { SpanNode } from '../../../lib/core/model.js';
import { decodeOtelRecord } from '../../../lib/core/otel/decode.js';
import { decodeFixture, loadFixture } from './fixtures.js';

const byName = (nodes: SpanNode[], name: string) => nodes.filter((n) => n.name === name);

describe('aws/spans events (CloudWatch Transaction Search)', () => {
  it('reads Logs Insights rows of ADOT spans: segments, local spans and aws-api calls', () => {
    const out = decodeFixture(
      'agentcore-aws-spans-langchain-bedrock-converse-12-spans-logsinsights-wrapper.json',
    );
    expect(out.rejections).toEqual([]);
    expect(out.loose).toHaveLength(12);
    expect(new Set(out.loose.map((n) => n.traceId)).size).toBe(2);
    const segments = out.loose.filter((n) => n.kind === 'segment');
    // The SERVER span `POST /invocations` is the service's segment, named after the service.
    expect(segments.map((s) => s.name)).toEqual(['agent_lg.DEFAULT', 'agent_lg.DEFAULT']);
    expect(segments[0]).toMatchObject({ httpMethod: 'POST', httpStatus: 200, namespace: null });
    const converse = byName(out.loose, 'BedrockRuntime');
    expect(converse).toHaveLength(2);
    expect(converse[0]).toMatchObject({
      kind: 'subsegment',
      namespace: 'aws',
      awsOperation: 'Converse',
      awsResource: 'us.anthropic.claude-3-5-haiku-20241022-v1:0',
      error: false,
      fault: false,
    });
    expect(byName(out.loose, 'LangGraph.workflow')[0]).toMatchObject({ kind: 'subsegment', namespace: null });
    expect(out.loose[0]?.location).toEqual({
      source: expect.any(String),
      line: 1,
      pointer: '[0].raw_otel_json',
    });
  });

  it('keeps the exact duration from durationNano although 19-digit nanosecond numbers lost precision', () => {
    const [node] = decodeFixture(
      'agentcore-aws-spans-langchain-bedrock-converse-12-spans-logsinsights-wrapper.json',
    ).loose;
    // durationNano 2992260524; start and end as JSON numbers are rounded to float64.
    expect(node!.endMs! - node!.startMs).toBeCloseTo(2992.260524, 3);
  });

  it('reads an AWS SDK call that failed with 403 as an error, not a fault', () => {
    const out = decodeFixture(
      'agentcore-aws-spans-strands-openai-accessdenied-403-error-logsinsights-wrapper.json',
    );
    expect(out.rejections).toEqual([]);
    const failed = out.loose.filter((n) => n.error || n.fault || n.throttle);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      name: 'BedrockAgentCore',
      awsOperation: 'StartCodeInterpreterSession',
      httpStatus: 403,
      error: true,
      fault: false,
      throttle: false,
    });
    // httpx calls to a non-AWS host are remote calls named after the host.
    expect(byName(out.loose, 'api.openai.com')[0]).toMatchObject({ namespace: 'remote', awsOperation: null });
  });

  it('derives a fault from HTTP 502 when status is UNSET and no X-Ray flags are present', () => {
    const [node] = decodeFixture(
      'lukeina2z-aws-spans-apigw-invoke-lambda-http-502-status-unset-single.json',
    ).loose;
    expect(node).toMatchObject({
      traceId: '1-6880250e-4fc5b1c42f7b40fc4801f9fd',
      id: '0a5d33388552b5f5',
      parentId: '30ed105a9aa5beb1',
      kind: 'subsegment',
      name: 'awslambda',
      namespace: 'aws',
      awsOperation: 'Invoke',
      awsResource: 'appointment-service-get',
      httpMethod: 'GET',
      httpStatus: 502,
      error: false,
      fault: true,
      throttle: false,
    });
    expect(node!.endMs! - node!.startMs).toBeCloseTo(39.000064, 3);
  });

  it('keeps the complete copy of a span sent first in progress, and the X-Ray names', () => {
    const out = decodeFixture(
      'lukeina2z-aws-spans-apigw-lambda-invoke-inprogress-then-complete-same-span-id.json',
    );
    expect(out.rejections).toEqual([]);
    expect(out.loose).toHaveLength(6);
    expect(out.loose.every((n) => n.endMs !== null)).toBe(true);
    expect(out.ignored.map((i) => i.what)).toEqual([
      'in-progress copy of span 022aec437943b26f, replaced by its complete copy',
      'in-progress copy of span 6e72dc9476e3ea07, replaced by its complete copy',
    ]);
    const gateway = byName(out.loose, 'appointment-service-gateway/prod');
    // Converted from X-Ray: the segment keeps X-Ray's name as its service, so keys match the X-Ray API's.
    expect(gateway[0]).toMatchObject({ kind: 'segment', origin: 'AWS::ApiGateway::Stage', parentId: null });
    expect(gateway[0]?.service).toBeUndefined();
    expect(byName(out.loose, 'appointment-service-get')[0]).toMatchObject({
      kind: 'segment',
      origin: 'AWS::Lambda',
    });
  });

  it('lets linkTrace prefer the complete copy when the copies arrive as separate records', () => {
    const [events] = loadFixture(
      'lukeina2z-aws-spans-apigw-lambda-invoke-inprogress-then-complete-same-span-id.json',
    );
    const nodes = (events as unknown[]).flatMap(
      (value, i) => decodeOtelRecord({ value, location: { source: 'x', line: i + 1 } })!.loose,
    );
    expect(nodes.filter((n) => n.endMs === null)).toHaveLength(2);
    const traceId = '1-687fef14-6c953a381404ee3a4b2b69f5';
    const { roots, duplicates } = linkTrace(
      traceId,
      nodes.filter((n) => n.traceId === traceId),
    );
    const { spans, inProgress } = flattenTrace(traceId, roots, 300_000);
    expect({ duplicates, inProgress }).toEqual({ duplicates: 1, inProgress: 0 });
    expect(spans.map((s) => `${s.service} ${s.name}`).sort()).toEqual([
      'appointment-service-gateway/prod appointment-service-gateway/prod',
      'appointment-service-gateway/prod awslambda',
      'appointment-service-get appointment-service-get',
    ]);
  });

  it('skips span-link decorators and keeps X-Ray error flags over the ERROR status', () => {
    const out = decodeFixture('lukeina2z-aws-spans-lambda-timeout-error-300s-with-span-link-decorators.json');
    expect(out.rejections).toEqual([]);
    expect(out.loose).toHaveLength(10);
    expect(out.ignored).toHaveLength(10);
    expect(out.ignored[0]?.what).toBe('X-Ray span-link decorator (not a span)');
    for (const node of out.loose) {
      expect(node).toMatchObject({ name: 'audit-service', kind: 'segment', error: true, fault: false });
      expect(node.endMs! - node.startMs).toBeGreaterThan(300_000);
    }
  });

  it('maps EKS Java spans: local subsegments, S3 and SQL calls, annotations and origin', () => {
    const out = decodeFixture(
      'lukeina2z-aws-spans-eks-java-vets-visits-s3-listbuckets-hsqldb-local-subsegments.json',
    );
    expect(out.rejections).toEqual([]);
    expect(out.loose).toHaveLength(18);
    expect(byName(out.loose, 'S3')[0]).toMatchObject({ namespace: 'aws', awsOperation: 'ListBuckets' });
    expect(byName(out.loose, 'VetRepository.findAll')[0]).toMatchObject({
      kind: 'subsegment',
      namespace: null,
    });
    expect(byName(out.loose, 'hsqldb')).toHaveLength(8);
    expect(byName(out.loose, 'vets-service-java')[0]).toMatchObject({ origin: 'AWS::EKS::Container' });

    const [client] = decodeFixture(
      'lukeina2z-aws-spans-eks-java-client-hsqldb-xray-converted-single.json',
    ).loose;
    expect(client).toMatchObject({ name: 'hsqldb', namespace: 'remote', sqlDatabaseType: 'hsqldb' });
    expect(client?.annotations).toMatchObject({
      'aws.remote.service': 'hsqldb',
      'aws.remote.operation': 'SELECT',
    });

    const [server] = decodeFixture(
      'lukeina2z-aws-spans-eks-java-server-segment-xray-converted-single.json',
    ).loose;
    expect(server).toMatchObject({
      kind: 'segment',
      parentId: null,
      name: 'vets-service-java',
      serviceVersion: 'latest',
    });
  });

  it('maps canaries and nginx proxies with remote HTTP calls named after the host', () => {
    const out = decodeFixture(
      'lukeina2z-aws-spans-synthetics-canaries-nginx-proxy-remote-http-subsegments.json',
    );
    expect(out.rejections).toEqual([]);
    expect(out.loose).toHaveLength(34);
    const remote = out.loose.filter((n) => n.namespace === 'remote').map((n) => n.name);
    expect(new Set(remote)).toEqual(
      new Set([
        'a61dafdaceaa340d5b3fc9d3a00f71c6-746455772.us-east-1.elb.amazonaws.com',
        'cognito-identity.us-east-1.amazonaws.com',
        'dataplane.rum.us-east-1.amazonaws.com',
      ]),
    );
    // Random W3C trace IDs (no epoch prefix) map one to one all the same.
    expect(out.loose.every((n) => /^1-[0-9a-f]{8}-[0-9a-f]{24}$/.test(n.traceId))).toBe(true);
  });

  it('treats a LOCAL_ROOT span as a segment even with a parent, and computes times without durationNano', () => {
    const [node] = decodeFixture('dev7a-aws-spans-lambda-python-local-root-no-duration-single.json').loose;
    expect(node).toMatchObject({
      kind: 'segment',
      name: 'stack-replay-recorder',
      parentId: '48fec93dfe40959d',
    });
    expect(node!.endMs! - node!.startMs).toBeCloseTo(719.69, 2);
  });
});

describe('OTLP/JSON', () => {
  it('normalises upper-case hex ids and reads string nanoseconds exactly', () => {
    const out = decodeFixture('otelproto-otlp-json-trace-example-uppercase-hex-ids.json');
    expect(out.rejections).toEqual([]);
    expect(out.loose).toHaveLength(1);
    expect(out.loose[0]).toMatchObject({
      traceId: '1-5b8efff7-98038103d269b633813fc60c',
      id: 'eee19b7ec3c1b174',
      parentId: 'eee19b7ec3c1b173',
      kind: 'segment',
      name: 'my.service',
      startMs: 1544712660000,
      endMs: 1544712661000,
    });
    expect(out.loose[0]?.location.pointer).toBe('resourceSpans[0].scopeSpans[0].spans[0]');
  });

  it('reads several scopes and traces, typed attributes and ERROR status', () => {
    const out = decodeFixture('jaeger-otlp-json-two-traces-events-links-error-status-typed-attrs.json');
    expect(out.rejections).toEqual([]);
    expect(out.loose).toHaveLength(4);
    expect(new Set(out.loose.map((n) => n.traceId)).size).toBe(2);
    // status.code 2 with no HTTP status: a fault.
    expect(out.loose.every((n) => n.fault && !n.error)).toBe(true);
    expect(out.loose.filter((n) => n.kind === 'segment').map((n) => n.name)).toEqual(['service-x']);
    expect(out.loose[0]!.endMs! - out.loose[0]!.startMs).toBeCloseTo(0.005, 3);
  });

  it('accepts the pre-1.0 instrumentationLibrarySpans name', () => {
    const span = {
      traceId: 'ab'.repeat(16),
      spanId: 'cd'.repeat(8),
      name: 'op',
      kind: 2,
      startTimeUnixNano: '2000000000',
      endTimeUnixNano: '3000000000',
    };
    const out = decodeOtelRecord({
      value: { resourceSpans: [{ instrumentationLibrarySpans: [{ spans: [span] }] }] },
      location: { source: 'old.json' },
    });
    expect(out?.loose).toHaveLength(1);
  });
});

describe('containers', () => {
  const event = (spanId: string, extra: Record<string, unknown> = {}) => ({
    resource: { attributes: { 'service.name': 'orders' } },
    traceId: '687fef146c953a381404ee3a4b2b69f5',
    spanId,
    name: 'GET /orders',
    kind: 'SERVER',
    startTimeUnixNano: 1753214740793000000,
    endTimeUnixNano: 1753214740869000000,
    durationNano: 76000000,
    attributes: {},
    status: { code: 'UNSET' },
    ...extra,
  });

  it('reads a CloudWatch Logs subscription envelope, rejecting a message that is not JSON', () => {
    const value = {
      messageType: 'DATA_MESSAGE',
      owner: '123456789012',
      logGroup: 'aws/spans',
      logStream: 'default',
      subscriptionFilters: ['tracelake'],
      logEvents: [
        { id: '1', timestamp: 1753214740868, message: JSON.stringify(event('0dac6942eb7c7c51')) },
        { id: '2', timestamp: 1753214740869, message: '{"traceId": "687f' },
        { id: '3', timestamp: 1753214740870, message: JSON.stringify(event('0dac6942eb7c7c52')) },
      ],
    };
    const out = decodeOtelRecord({ value, location: { source: 's3://lake/raw/a.gz', line: 4 } })!;
    expect(out.loose.map((n) => n.id)).toEqual(['0dac6942eb7c7c51', '0dac6942eb7c7c52']);
    expect(out.rejections).toHaveLength(1);
    expect(out.rejections[0]).toMatchObject({
      location: { source: 's3://lake/raw/a.gz', line: 4, pointer: 'logEvents[1].message' },
      reason: expect.stringMatching(/^message is not JSON/),
      raw: '{"traceId": "687f',
    });
    expect(out.loose[1]?.location.pointer).toBe('logEvents[2].message');
  });

  it('ignores a CloudWatch Logs control message', () => {
    const out = decodeOtelRecord({
      value: {
        messageType: 'CONTROL_MESSAGE',
        logGroup: '',
        logStream: '',
        logEvents: [
          { id: '', timestamp: 1, message: 'CWL CONTROL MESSAGE: Checking health of destination Firehose.' },
        ],
      },
      location: { source: 'x' },
    });
    expect(out).toEqual({
      traces: [],
      loose: [],
      rejections: [],
      ignored: [{ location: { source: 'x' }, what: 'CloudWatch Logs control message' }],
    });
  });

  it('reads GetLogEvents responses and Logs Insights @message rows', () => {
    const getLogEvents = {
      events: [{ timestamp: 1, message: JSON.stringify(event('0dac6942eb7c7c51')), ingestionTime: 2 }],
    };
    expect(decodeOtelRecord({ value: getLogEvents, location: { source: 'x' } })?.loose).toHaveLength(1);
    const insights = [
      { '@timestamp': '2025-07-22 20:05:40.868', '@message': JSON.stringify(event('0dac6942eb7c7c51')) },
    ];
    expect(decodeOtelRecord({ value: insights, location: { source: 'x' } })?.loose).toHaveLength(1);
  });

  it('returns null for what is not OpenTelemetry, so the X-Ray decoder or the caller handles it', () => {
    const notOtel: unknown[] = [
      { Traces: [] },
      { name: 'api', id: '70de5b6f19ff9a0a', trace_id: '1-581cf771-a006649127e371903a2de979', start_time: 1 },
      [],
      {},
      'text',
      42,
      null,
      [{ level: 'INFO', message: 'hello' }],
    ];
    for (const value of notOtel) expect(decodeOtelRecord({ value, location: { source: 'x' } })).toBeNull();
  });

  it('rejects OTLP logs and metrics sent where traces are expected', () => {
    const out = decodeOtelRecord({ value: { resourceLogs: [] }, location: { source: 'x' } });
    expect(out?.rejections[0]?.reason).toBe(
      'OTLP logs or metrics (resourceLogs/resourceMetrics), not traces',
    );
  });
});
