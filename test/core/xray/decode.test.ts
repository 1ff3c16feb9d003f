import { describe, expect, it } from 'vitest';
import type { DecodedRecord } from '../../../lib/core/model.js';
import { decodeXRayRecord, MAX_RAW_CHARS } from '../../../lib/core/xray/decode.js';
import { MAX_NESTING } from '../../../lib/core/xray/document.js';

const TRACE = '1-581cf771-a006649127e371903a2de979';
const loc = { source: 'test.json' };

function segment(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'api',
    id: '70de5b6f19ff9a0a',
    trace_id: TRACE,
    start_time: 1478293361.271,
    end_time: 1478293361.449,
    ...extra,
  };
}

function decode(value: unknown): DecodedRecord {
  const out = decodeXRayRecord({ value, location: loc });
  if (!out) throw new Error('expected an X-Ray record');
  return out;
}

function reasonFor(value: unknown): string {
  const out = decode(value);
  expect(out.loose).toEqual([]);
  expect(out.rejections).toHaveLength(1);
  return out.rejections[0]!.reason;
}

describe('segment document validation', () => {
  const rejected: [string, Record<string, unknown>, RegExp][] = [
    ['name missing', { name: undefined }, /^segment: name is missing$/],
    ['name not a string', { name: 42 }, /name 42 is not a string/],
    ['name too long', { name: 'x'.repeat(201) }, /name is 201 characters long \(at most 200\)/],
    ['id not hex', { id: 'exception-1xxxxx' }, /^segment "api": id "exception-1xxxxx" is not 16 hex digits$/],
    ['id too short', { id: 'abc' }, /id "abc" is not 16 hex digits/],
    [
      'trace_id missing',
      { trace_id: undefined, origin: 'AWS::EC2::Instance' },
      /^segment "api": trace_id is missing$/,
    ],
    [
      'trace_id malformed',
      { trace_id: '1-12345678-zzz' },
      /trace_id "1-12345678-zzz" is not an X-Ray trace ID/,
    ],
    ['start_time missing', { start_time: undefined }, /start_time is missing/],
    ['start_time a string', { start_time: '1478293361' }, /start_time "1478293361" is not a number/],
    [
      'start_time in milliseconds',
      { start_time: 1478293361271, end_time: 1478293361449 },
      /start_time 1478293361271 is not an epoch time in seconds.*milliseconds\?/,
    ],
    ['end before start', { end_time: 1478293360 }, /end_time 1478293360 is before start_time 1478293361.271/],
    ['no end, not in progress', { end_time: undefined }, /end_time is missing and in_progress is not true/],
    [
      'in_progress not boolean',
      { end_time: undefined, in_progress: 'yes' },
      /in_progress "yes" is not a boolean/,
    ],
    ['error not boolean', { error: 'true' }, /error "true" is not a boolean/],
    ['fault not boolean', { fault: 1 }, /fault 1 is not a boolean/],
    ['throttle not boolean', { throttle: null }, /throttle null is not a boolean/],
    [
      'namespace unknown',
      { namespace: 'invalidNs' },
      /namespace "invalidNs" is not "aws", "remote" or "local"/,
    ],
    ['http not an object', { http: 'GET' }, /http is a string, not an object/],
    ['http.request not an object', { http: { request: [] } }, /http\.request is an array, not an object/],
    [
      'status not an integer',
      { http: { response: { status: '200' } } },
      /http\.response\.status "200" is not an integer/,
    ],
    [
      'content_length a string',
      { http: { response: { content_length: '861' } } },
      /content_length "861" is a string, not a number/,
    ],
    ['aws not an object', { aws: 5 }, /aws is a number, not an object/],
    ['aws.operation not a string', { aws: { operation: 3 } }, /aws\.operation 3 is not a string/],
    ['sql not an object', { sql: true }, /sql is a boolean, not an object/],
    ['sql.url without scheme', { sql: { url: '//db:5432/x' } }, /sql\.url "\/\/db:5432\/x" has no scheme/],
    ['cause a number', { cause: 200 }, /cause 200 is neither an object nor a 16-character exception ID/],
    ['cause a short string', { cause: 'abc' }, /cause "abc" is not a 16-character exception ID/],
    ['annotation value an object', { annotations: { a: { b: 1 } } }, /annotation "a" has an object value/],
    ['annotations an array', { annotations: [1] }, /annotations is an array, not an object/],
    ['parent_id malformed', { parent_id: 'nope' }, /parent_id "nope" is not 16 hex digits/],
    ['own parent', { parent_id: '70de5b6f19ff9a0a' }, /id "70de5b6f19ff9a0a" equals its own parent_id/],
    ['type not subsegment', { type: 'segment' }, /type "segment" is not "subsegment"/],
    [
      'independent subsegment without parent',
      { type: 'subsegment' },
      /^subsegment "api": an independent subsegment needs a parent_id$/,
    ],
    ['subsegments not an array', { subsegments: {} }, /subsegments is an object, not an array/],
    [
      'subsegment not an object',
      { subsegments: [7] },
      /subsegments\[0\] is a number, not a subsegment object/,
    ],
    [
      'bad nested subsegment',
      { subsegments: [{ name: 'DynamoDB', id: '2d6900034ccfe558', start_time: 1478293361.3 }] },
      /^subsegment "DynamoDB" \(subsegments\[0\]\): end_time is missing and in_progress is not true/,
    ],
    [
      'nested subsegment from another trace',
      {
        subsegments: [
          {
            name: 'x',
            id: '2d6900034ccfe558',
            start_time: 1478293361.3,
            end_time: 1478293361.4,
            trace_id: '1-581cf771-a006649127e371903a2de978',
          },
        ],
      },
      /trace_id "1-581cf771-a006649127e371903a2de978" differs from its segment's/,
    ],
  ];

  it.each(rejected)('rejects: %s', (_what, extra, reason) => {
    expect(reasonFor(segment(extra))).toMatch(reason);
  });

  const accepted: [string, Record<string, unknown>][] = [
    ['in progress without end_time', { end_time: undefined, in_progress: true }],
    ['namespace local', { namespace: 'local' }],
    ['cause as an exception id', { cause: 'abcdefghijklmnop' }],
    ['empty cause object', { cause: {} }],
    ['integer times', { start_time: 1478293365, end_time: 1478293385 }],
    ['equal start and end', { end_time: 1478293361.271 }],
    ['unknown fields', { Dummy: false, links: [{}] }],
    ['null http status', { http: { response: { status: null } } }],
    ['name of exactly 200 characters', { name: 'n'.repeat(200) }],
    ['uppercase hex ids', { id: '70DE5B6F19FF9A0A' }],
  ];

  it.each(accepted)('accepts: %s', (_what, extra) => {
    const out = decode(segment(extra));
    expect(out.rejections).toEqual([]);
    expect(out.loose).toHaveLength(1);
  });

  it('a document with no trace_id and nothing only a segment carries reads as an embedded subsegment: validated, then set aside', () => {
    const out = decode(segment({ trace_id: undefined }));
    expect(out.rejections).toEqual([]);
    expect(out.loose).toEqual([]);
    expect(out.ignored[0]!.what).toMatch(/^subsegment without trace_id or parent_id \(the embedded form\)/);
    expect(reasonFor(segment({ trace_id: undefined, id: 'nothex' }))).toMatch(
      /^subsegment "api": id "nothex" is not 16 hex digits$/,
    );
  });

  it('lowercases ids and trace ids', () => {
    const node = decode(segment({ id: '70DE5B6F19FF9A0A', trace_id: TRACE.toUpperCase().replace(/^1/, '1') }))
      .loose[0]!;
    expect(node.id).toBe('70de5b6f19ff9a0a');
    expect(node.traceId).toBe(TRACE);
  });

  it('a subsegment whose times lie outside its parent is kept (X-Ray does not enforce containment)', () => {
    const out = decode(
      segment({
        subsegments: [
          { name: 'late', id: '2d6900034ccfe558', start_time: 1478293361.4, end_time: 1478293362 },
        ],
      }),
    );
    expect(out.rejections).toEqual([]);
    expect(out.loose[0]!.children[0]!.endMs).toBe(1478293362000);
  });

  it('keeps the complete subsegments of an in-progress segment', () => {
    const out = decode(
      segment({
        end_time: undefined,
        in_progress: true,
        subsegments: [
          { name: 'done', id: '2d6900034ccfe558', start_time: 1478293361.3, end_time: 1478293361.4 },
          { name: 'running', id: '2d6900034ccfe559', start_time: 1478293361.3, in_progress: true },
        ],
      }),
    );
    const node = out.loose[0]!;
    expect(node.endMs).toBeNull();
    expect(node.children.map((c) => [c.name, c.endMs])).toEqual([
      ['done', 1478293361400],
      ['running', null],
    ]);
  });

  it('rejects nesting deeper than the limit without overflowing the stack', () => {
    let leaf: Record<string, unknown> = {
      name: 'leaf',
      id: '0000000000000001',
      start_time: 1478293361.3,
      end_time: 1478293361.4,
    };
    for (let i = 0; i < 10_000; i++) {
      leaf = {
        name: `n${i}`,
        id: (i + 2).toString(16).padStart(16, '0'),
        start_time: 1478293361.3,
        end_time: 1478293361.4,
        subsegments: [leaf],
      };
    }
    const reason = reasonFor(segment({ subsegments: [leaf] }));
    expect(reason).toMatch(new RegExp(`subsegments are nested more than ${MAX_NESTING} levels deep`));
  });

  it('accepts nesting up to the limit', () => {
    let node: Record<string, unknown> = {
      name: 'leaf',
      id: '0000000000000001',
      start_time: 1478293361.3,
      end_time: 1478293361.4,
    };
    for (let i = 0; i < MAX_NESTING - 2; i++) {
      node = {
        name: `n${i}`,
        id: (i + 2).toString(16).padStart(16, '0'),
        start_time: 1478293361.3,
        end_time: 1478293361.4,
        subsegments: [node],
      };
    }
    const out = decode(segment({ subsegments: [node] }));
    expect(out.rejections).toEqual([]);
  });
});

describe('keys that look like prototype members', () => {
  it('"__proto__" and "constructor" annotations stay plain data', () => {
    const text = `{"name":"api","id":"70de5b6f19ff9a0a","trace_id":"${TRACE}","start_time":1478293361.271,"end_time":1478293361.449,"annotations":{"__proto__":"x","constructor":1,"toString":true}}`;
    const node = decode(JSON.parse(text)).loose[0]!;
    expect(Object.keys(node.annotations!)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getOwnPropertyDescriptor(node.annotations, '__proto__')?.value).toBe('x');
    expect(node.annotations!.constructor).toBe('1');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  it('a "__proto__" key in the document itself does not become its name or id', () => {
    const value = JSON.parse(
      `{"__proto__":{"name":"evil","id":"70de5b6f19ff9a0a"},"trace_id":"${TRACE}","start_time":1478293361.271,"end_time":1478293361.449}`,
    );
    expect(reasonFor(value)).toMatch(/name is missing/);
  });
});

describe('field mapping', () => {
  it('maps http, aws, sql, service.version and annotations, and children inherit version and origin', () => {
    const node = decode(
      segment({
        origin: 'AWS::EC2::Instance',
        http: { request: { method: 'GET', url: 'https://x/health' }, response: { status: 503 } },
        service: { version: '1.2.3' },
        annotations: { n: 5, b: false, s: 'v' },
        fault: true,
        subsegments: [
          {
            name: 'SQS',
            id: '2d6900034ccfe558',
            start_time: 1478293361.3,
            end_time: 1478293361.4,
            namespace: 'aws',
            aws: {
              operation: 'SendMessage',
              queue_url: 'https://sqs.us-east-1.amazonaws.com/123456789012/orders-queue',
            },
          },
          {
            name: 'SNS',
            id: '2d6900034ccfe559',
            start_time: 1478293361.3,
            end_time: 1478293361.4,
            aws: { operation: 'Publish', topic_arn: 'arn:aws:sns:us-east-1:123456789012:alerts' },
          },
          {
            name: 'Lambda',
            id: '2d6900034ccfe55a',
            start_time: 1478293361.3,
            end_time: 1478293361.4,
            aws: {
              operation: 'Invoke',
              function_name: 'arn:aws:lambda:us-east-1:123456789012:function:worker:live',
            },
          },
          {
            name: 'S3',
            id: '2d6900034ccfe55b',
            start_time: 1478293361.3,
            end_time: 1478293361.4,
            aws: { operation: 'GetObject', bucket_name: 'assets', key: 'a/b.png' },
          },
          {
            name: 'db',
            id: '2d6900034ccfe55c',
            start_time: 1478293361.3,
            end_time: 1478293361.4,
            sql: { url: 'jdbc:mysql://h/db', database_type: 'MySQL' },
          },
        ],
      }),
    ).loose[0]!;
    expect(node).toMatchObject({
      origin: 'AWS::EC2::Instance',
      httpMethod: 'GET',
      httpUrl: 'https://x/health',
      httpStatus: 503,
      serviceVersion: '1.2.3',
      fault: true,
      error: false,
    });
    expect({ ...node.annotations }).toEqual({ n: '5', b: 'false', s: 'v' });
    expect(node.children.map((c) => c.awsResource)).toEqual([
      'orders-queue',
      'alerts',
      'worker',
      'assets',
      null,
    ]);
    expect(node.children.map((c) => c.parentId)).toEqual(Array(5).fill('70de5b6f19ff9a0a'));
    for (const c of node.children) {
      expect(c.serviceVersion).toBe('1.2.3');
      expect(c.traceId).toBe(TRACE);
      expect(c.kind).toBe('subsegment');
    }
    expect(node.children[4]).toMatchObject({ sqlUrl: 'jdbc:mysql://h/db', sqlDatabaseType: 'MySQL' });
    expect(node.children[0]!.location.pointer).toBe('subsegments[0]');
  });

  it('an inferred segment stays a segment', () => {
    expect(decode(segment({ inferred: true, parent_id: '2d6900034ccfe558' })).loose[0]).toMatchObject({
      kind: 'segment',
      inferred: true,
      parentId: '2d6900034ccfe558',
    });
  });
});

describe('classification', () => {
  it('returns null for OpenTelemetry shapes', () => {
    const otel = [
      { resourceSpans: [] },
      { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'x' },
      [{ resource: { attributes: {} }, traceId: 'a', spanId: 'b', name: 'n', startTimeUnixNano: 1 }],
      [{ timestamp: '2025-11-18', raw_otel_json: {} }],
    ];
    for (const value of otel) expect(decodeXRayRecord({ value, location: loc })).toBeNull();
  });

  it('returns null for values that are not X-Ray at all', () => {
    for (const value of [
      null,
      3,
      'text',
      ['a', 'b'],
      { hello: 'world' },
      { name: 'n', id: '70de5b6f19ff9a0a' },
    ]) {
      expect(decodeXRayRecord({ value, location: loc })).toBeNull();
    }
  });

  it('a BatchGetTraces response: Document strings parsed, a bad one rejected with its parse error, siblings kept', () => {
    const sub = {
      name: 'ok',
      id: '2d6900034ccfe558',
      trace_id: TRACE,
      start_time: 1478293361.3,
      end_time: 1478293361.4,
      type: 'subsegment',
      parent_id: '70de5b6f19ff9a0a',
    };
    const out = decode({
      Traces: [
        {
          Id: TRACE,
          Segments: [
            { Id: '70de5b6f19ff9a0a', Document: JSON.stringify(segment()) },
            { Id: 'x', Document: '{"name": "broken",' },
            { Id: '2d6900034ccfe558', Document: JSON.stringify(sub) },
          ],
        },
      ],
      UnprocessedTraceIds: ['1-581cf771-a006649127e371903a2de970'],
    });
    expect(out.traces).toHaveLength(1);
    expect(out.traces[0]!.nodes.map((n) => n.name)).toEqual(['api', 'ok']);
    expect(out.rejections).toHaveLength(1);
    expect(out.rejections[0]!.reason).toMatch(/^Traces\[0\]\.Segments\[1\]\.Document is not valid JSON: /);
    expect(out.rejections[0]!.location.pointer).toBe('Traces[0].Segments[1].Document');
    expect(out.rejections[0]!.raw).toBe('{"name": "broken",');
    expect(out.ignored.map((i) => i.what)).toEqual([
      'BatchGetTraces UnprocessedTraceIds: 1 trace not returned (1-581cf771-a006649127e371903a2de970)',
    ]);
  });

  it('a document of another trace inside a trace wrapper is rejected', () => {
    const out = decode({ Id: '1-581cf771-a006649127e371903a2de970', Segments: [segment()] });
    expect(out.rejections[0]!.reason).toMatch(
      /differs from the trace's Id "1-581cf771-a006649127e371903a2de970"/,
    );
    expect(out.traces).toEqual([]);
  });

  it('an array of documents: each decoded, non-X-Ray elements among them rejected', () => {
    const out = decode([
      segment(),
      segment({ id: '70de5b6f19ff9a0b', name: 'b' }),
      'stray',
      segment({ id: 'bad' }),
    ]);
    expect(out.loose.map((n) => n.name)).toEqual(['api', 'b']);
    expect(out.rejections.map((r) => r.location.pointer)).toEqual(['[2]', '[3]']);
    expect(out.rejections[0]!.reason).toMatch(/^\[2\] is a string "stray" in an array of X-Ray documents/);
  });

  it('an empty array is set aside, not rejected', () => {
    expect(decode([]).ignored.map((i) => i.what)).toEqual(['empty array']);
  });

  it('a PutTraceSegments request body: each document string decoded', () => {
    const out = decode({
      TraceSegmentDocuments: [JSON.stringify(segment()), JSON.stringify(segment({ id: 'zz' }))],
    });
    expect(out.loose).toHaveLength(1);
    expect(out.rejections[0]!.reason).toMatch(
      /^segment "api" \(TraceSegmentDocuments\[1\]\): id "zz" is not 16 hex digits$/,
    );
  });

  it('bounds the raw text of a rejected document', () => {
    const out = decode(segment({ id: 'bad', metadata: { big: 'x'.repeat(200_000) } }));
    expect(out.rejections[0]!.raw.length).toBeLessThanOrEqual(MAX_RAW_CHARS + 1);
  });

  it('keeps the record location and adds the pointer', () => {
    const out = decodeXRayRecord({
      value: { Id: TRACE, Segments: [segment({ id: 'bad' })] },
      location: { source: 'f.ndjson', line: 7 },
    })!;
    expect(out.rejections[0]!.location).toEqual({ source: 'f.ndjson', line: 7, pointer: 'Segments[0]' });
  });
});
