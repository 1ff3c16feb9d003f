import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromXrayTraceId, readSpanId, readTraceId, toXrayTraceId } from '../../../lib/core/otel/ids.js';
import { mapOtelSpan } from '../../../lib/core/otel/span.js';
import { anyValue, attributesOf, nanosToMs } from '../../../lib/core/otel/values.js';

const base = {
  traceId: '687fef146c953a381404ee3a4b2b69f5',
  spanId: '366849137d6ca9c1',
  parentSpanId: '0dac6942eb7c7c51',
  name: 'call',
  kind: 'CLIENT',
  startTimeUnixNano: '1753214740796000000',
  endTimeUnixNano: '1753214740868999936',
};

function map(
  span: Record<string, unknown>,
  resource: Record<string, unknown> = { 'service.name': 'orders-api' },
) {
  const out = mapOtelSpan({ ...base, ...span }, resource, { source: 'test' });
  if (out.type !== 'span') throw new Error(`expected a span, got ${JSON.stringify(out)}`);
  return out.node;
}

describe('mapOtelSpan: semantic conventions to X-Ray terms', () => {
  it('names an AWS SDK call after the service and keys it by operation and table', () => {
    const node = map({
      name: 'DynamoDB.Query',
      attributes: {
        'rpc.system': 'aws-api',
        'rpc.service': 'DynamoDB',
        'rpc.method': 'Query',
        'aws.dynamodb.table_names': ['orders'],
        'aws.remote.service': 'AWS::DynamoDB',
      },
    });
    expect(node).toMatchObject({
      kind: 'subsegment',
      name: 'DynamoDB',
      namespace: 'aws',
      awsOperation: 'Query',
      awsResource: 'orders',
    });
  });

  it.each([
    [{ 'aws.s3.bucket': 'invoices' }, 'invoices'],
    [
      { 'aws.sqs.queue.url': 'https://sqs.us-east-1.amazonaws.com/123456789012/order-events' },
      'order-events',
    ],
    [{ 'aws.queue_url': 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs/' }, 'jobs'],
    [{ 'aws.sns.topic.arn': 'arn:aws:sns:us-east-1:123456789012:alerts' }, 'alerts'],
    [{ 'aws.function_name': 'arn:aws:lambda:us-east-1:123456789012:function:worker:prod' }, 'worker'],
    [{ 'faas.invoked_name': 'worker' }, 'worker'],
    [{ 'aws.dynamodb.table_names': 'customers' }, 'customers'],
    [{ 'messaging.destination.name': 'order-events' }, 'order-events'],
    [{ 'aws.remote.resource.identifier': 'my-model' }, 'my-model'],
    [{}, null],
  ])('reads the resource from %j', (attributes, resource) => {
    expect(
      map({ attributes: { 'rpc.system': 'aws-api', 'rpc.service': 'X', ...attributes } }).awsResource,
    ).toBe(resource);
  });

  it('follows the exporter naming order for calls without an X-Ray name', () => {
    expect(map({ attributes: { 'peer.service': 'payments' } }).name).toBe('payments');
    expect(map({ attributes: { 'db.name': 'inventory', 'server.address': 'db.internal' } }).name).toBe(
      'inventory@db.internal',
    );
    expect(map({ attributes: { 'server.address': 'api.example.com' } }).name).toBe('api.example.com');
    expect(map({ attributes: { 'rpc.system': 'aws-api', 'aws.remote.service': 'AWS.SDK.S3' } }).name).toBe(
      'S3',
    );
    expect(map({ attributes: {} }).name).toBe('call');
    expect(map({ kind: 'INTERNAL', attributes: { 'peer.service': 'x' } }).name).toBe('call');
    expect(
      map({ attributes: { 'rpc.service': 'S3' }, _aws: { xray: { name: 'Amazon S3', type: 'subsegment' } } })
        .name,
    ).toBe('Amazon S3');
  });

  it('sets the namespace: aws for aws-api, remote for CLIENT and PRODUCER, none for local spans', () => {
    expect(map({ attributes: { 'rpc.system': 'aws-api' } }).namespace).toBe('aws');
    expect(map({ kind: 'PRODUCER' }).namespace).toBe('remote');
    expect(map({ kind: 'INTERNAL' }).namespace).toBeNull();
    expect(map({ kind: 'CONSUMER' }).namespace).toBeNull();
    expect(map({ kind: 'INTERNAL', _aws: { xray: { namespace: 'remote' } } }).namespace).toBe('remote');
  });

  it('decides segment or subsegment from _aws.xray.type, SERVER, LOCAL_ROOT and the parent', () => {
    expect(map({ kind: 'SERVER' }).kind).toBe('segment');
    expect(map({ kind: 'INTERNAL', attributes: { 'aws.span.kind': 'LOCAL_ROOT' } }).kind).toBe('segment');
    expect(map({ kind: 'CLIENT', parentSpanId: undefined }).kind).toBe('segment');
    expect(map({ kind: 'CLIENT', parentSpanId: '' }).parentId).toBeNull();
    expect(map({ kind: 'SERVER', _aws: { xray: { type: 'subsegment' } } }).kind).toBe('subsegment');
  });

  it('names a segment after its service: aws.local.service, else service.name', () => {
    expect(map({ kind: 'SERVER', name: 'GET /orders' }).name).toBe('orders-api');
    const local = map({ kind: 'SERVER', attributes: { 'aws.local.service': 'orders' } });
    expect({ name: local.name, service: local.service }).toEqual({ name: 'orders', service: undefined });
    const own = map({ kind: 'SERVER', resource: { attributes: { 'service.name': 'from-event' } } }, {});
    expect(own.name).toBe('from-event');
    expect(map({ kind: 'SERVER', name: 'GET /x' }, {}).name).toBe('GET /x');
  });

  it.each([
    [{ 'http.response.status_code': 404 }, undefined, { error: true, fault: false, throttle: false }],
    [{ 'http.status_code': '429' }, undefined, { error: true, fault: false, throttle: true }],
    [{ 'http.response.status_code': 503 }, undefined, { error: false, fault: true, throttle: false }],
    [{ 'http.response.status_code': 200 }, { code: 'ERROR' }, { error: false, fault: true, throttle: false }],
    [{}, { code: 2 }, { error: false, fault: true, throttle: false }],
    [{}, { code: 'STATUS_CODE_ERROR' }, { error: false, fault: true, throttle: false }],
    [{}, { code: 'OK' }, { error: false, fault: false, throttle: false }],
    [
      { 'http.response.status_code': 500, 'aws.xray.error': true },
      { code: 'ERROR' },
      { error: true, fault: false, throttle: false },
    ],
  ])('flags %j with status %j as %j', (attributes, status, flags) => {
    expect(map({ attributes, status })).toMatchObject(flags);
  });

  it('reads an AWS throttling exception on a 400 as a throttle', () => {
    const events = [
      {
        name: 'exception',
        timeUnixNano: 1,
        attributes: { 'exception.type': 'botocore.errorfactory.ProvisionedThroughputExceededException' },
      },
    ];
    expect(map({ attributes: { 'http.status_code': 400 }, events })).toMatchObject({
      error: true,
      throttle: true,
    });
    expect(map({ attributes: { 'http.status_code': 400 } })).toMatchObject({ error: true, throttle: false });
  });

  it('reads HTTP fields under old and new keys, and builds a server URL from its parts', () => {
    expect(map({ attributes: { 'http.method': 'GET', 'http.url': 'https://a/b' } })).toMatchObject({
      httpMethod: 'GET',
      httpUrl: 'https://a/b',
    });
    const server = map({
      kind: 'SERVER',
      attributes: {
        'http.request.method': 'POST',
        'url.scheme': 'https',
        'server.address': 'api',
        'url.path': '/o',
        'url.query': 'x=1',
      },
    });
    expect(server).toMatchObject({ httpMethod: 'POST', httpUrl: 'https://api/o?x=1' });
  });

  it('marks a span in progress from a null end or aws.xray.inprogress', () => {
    expect(map({ endTimeUnixNano: null }).endMs).toBeNull();
    expect(map({ attributes: { 'aws.xray.inprogress': true } }).endMs).toBeNull();
  });

  it('takes the origin from aws.xray.origin or cloud.platform, annotations from the listed keys', () => {
    expect(
      map(
        { kind: 'SERVER' },
        { 'service.name': 's', 'cloud.platform': 'aws_ecs', 'aws.ecs.launchtype': 'fargate' },
      ).origin,
    ).toBe('AWS::ECS::Fargate');
    expect(map({ kind: 'SERVER' }, { 'service.name': 's', 'cloud.platform': 'aws_lambda' }).origin).toBe(
      'AWS::Lambda::Function',
    );
    expect(map({ kind: 'SERVER' }, { 'service.name': 's', 'cloud.platform': 'aws_api_gateway' }).origin).toBe(
      'AWS::ApiGateway::Stage',
    );
    expect(map({ kind: 'SERVER', attributes: { 'aws.xray.origin': 'AWS::Lambda' } }).origin).toBe(
      'AWS::Lambda',
    );
    expect(
      map({ kind: 'CLIENT' }, { 'service.name': 's', 'cloud.platform': 'aws_lambda' }).origin,
    ).toBeNull();
    const annotated = map({
      attributes: { tenant: 'acme', tier: 2, other: 'x', 'aws.xray.annotations': ['tenant', 'tier'] },
    });
    expect(annotated.annotations).toEqual({ tenant: 'acme', tier: '2' });
  });

  it('accepts kinds as OTLP numbers and SPAN_KIND_ names, and a missing kind as INTERNAL', () => {
    expect(map({ kind: 3 }).namespace).toBe('remote');
    expect(map({ kind: 'SPAN_KIND_SERVER' }).kind).toBe('segment');
    expect(map({ kind: undefined }).namespace).toBeNull();
    expect(mapOtelSpan({ ...base, kind: 9 }, {}, { source: 't' })).toEqual({
      type: 'rejected',
      reason: 'span "call" 366849137d6ca9c1: kind 9 is not a span kind',
    });
  });
});

describe('ids', () => {
  it('maps 32-hex trace ids to X-Ray form and back, one to one', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{32}$/), (hex) => {
        fc.pre(!/^0+$/.test(hex));
        const read = readTraceId(hex.toUpperCase());
        expect(read).toEqual({ ok: true, id: toXrayTraceId(hex) });
        expect(fromXrayTraceId(toXrayTraceId(hex))).toBe(hex);
        expect(readTraceId(toXrayTraceId(hex))).toEqual(read);
      }),
    );
  });

  it('accepts the base64 form some exporters write, by its exact length only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (bytes) => {
        fc.pre(bytes.some((b) => b !== 0));
        const hex = Buffer.from(bytes).toString('hex');
        expect(readSpanId(Buffer.from(bytes).toString('base64'), 'spanId')).toEqual({ ok: true, id: hex });
      }),
    );
    expect(readTraceId(Buffer.from('5b8efff798038103d269b633813fc60c', 'hex').toString('base64'))).toEqual({
      ok: true,
      id: '1-5b8efff7-98038103d269b633813fc60c',
    });
    expect(readSpanId('abcdefabcdef', 'spanId').ok).toBe(false);
  });
});

describe('values', () => {
  it('decodes OTLP AnyValues, including nested arrays and key-value lists', () => {
    expect(
      attributesOf([
        { key: 's', value: { stringValue: 'x' } },
        { key: 'i', value: { intValue: '42' } },
        { key: 'd', value: { doubleValue: 1.5 } },
        { key: 'b', value: { boolValue: true } },
        { key: 'a', value: { arrayValue: { values: [{ stringValue: 'p' }, { intValue: 3 }] } } },
        { key: 'k', value: { kvlistValue: { values: [{ key: 'n', value: { stringValue: 'v' } }] } } },
        { key: 'e', value: {} },
        { nokey: true },
      ]),
    ).toEqual({ s: 'x', i: 42, d: 1.5, b: true, a: ['p', 3], k: { n: 'v' }, e: null });
    expect(anyValue('bare')).toBeNull();
  });

  it('converts decimal-string nanoseconds exactly to the millisecond', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 10n ** 17n, max: 4n * 10n ** 18n }), (ns) => {
        const ms = nanosToMs(ns.toString())!;
        const whole = Number(ns / 1_000_000n);
        const fraction = Number(ns % 1_000_000n) / 1e6;
        // Within one float64 step of epoch milliseconds (under a microsecond), whatever the digits.
        expect(Math.abs(ms - whole - fraction)).toBeLessThan(1e-3);
      }),
    );
    expect(nanosToMs('1544712660000000000')).toBe(1544712660000);
    expect(nanosToMs('1544712660000500000')).toBe(1544712660000.5);
    expect(nanosToMs(1544712660000500000)).toBe(1544712660000.5);
    expect(nanosToMs(null)).toBeNull();
    expect(nanosToMs('soon')).toBeNull();
  });
});
