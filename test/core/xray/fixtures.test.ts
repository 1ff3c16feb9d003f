import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSource } from '../../../lib/adapters/file-source.js';
import { decodeRecord } from '../../../lib/core/decode.js';
import { flattenTrace, linkTrace } from '../../../lib/core/flatten.js';
import type { DecodedRecord, Rejection } from '../../../lib/core/model.js';
import { decodeXRayRecord } from '../../../lib/core/xray/decode.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const fixtures = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'xray-public');
const invalidDir = path.join(fixtures, 'invalid');

function decodeFile(file: string): DecodedRecord | null {
  const value: unknown = JSON.parse(readFileSync(path.join(fixtures, file), 'utf8'));
  return decodeXRayRecord({ value, location: { source: file } });
}

function nodeCount(record: DecodedRecord): number {
  const count = (n: { children: readonly unknown[] }): number =>
    1 + n.children.reduce<number>((s, c) => s + count(c as { children: readonly unknown[] }), 0);
  return [...record.loose, ...record.traces.flatMap((t) => t.nodes)].reduce((s, n) => s + count(n), 0);
}

/** What each file decodes to; the names say what is odd about a file when something is. */
const TOP_LEVEL: Record<string, { traces: number; loose: number; ignored: RegExp | null; nodes?: number }> = {
  'awscli-batchgettraces-response-scorekeep-beanstalk-dynamodb-inferred.json': {
    traces: 1,
    loose: 0,
    ignored: null,
    nodes: 3,
  },
  'awsdocs-batchgettraces-response-scorekeep-lambda-sns-dynamodb-5-segments.json': {
    traces: 1,
    loose: 0,
    ignored: null,
  },
  'awsdocs-getservicegraph-response-scorekeep.json': {
    traces: 0,
    loose: 0,
    ignored: /^GetServiceGraph response \(4 services\)$/,
  },
  'awsdocs-gettracesummaries-response-2-traces-annotations-users.json': {
    traces: 0,
    loose: 0,
    ignored: /^GetTraceSummaries response \(2 trace summaries\)$/,
  },
  'awsdocs-inferred-segment-downstream-http.json': { traces: 0, loose: 1, ignored: null },
  'awsdocs-puttracesegments-response-unprocessed-invalid-trace-id.json': {
    traces: 0,
    loose: 0,
    ignored: /^PutTraceSegments response \(1 unprocessed segment\)$/,
  },
  'awsdocs-segment-in-progress.json': { traces: 0, loose: 1, ignored: null },
  'awsdocs-segment-minimal-complete.json': { traces: 0, loose: 1, ignored: null },
  'awsdocs-segment-with-embedded-remote-http-subsegment.json': {
    traces: 0,
    loose: 1,
    ignored: null,
    nodes: 2,
  },
  'awsdocs-subsegment-custom-metadata-with-nested-dynamodb.json': {
    traces: 0,
    loose: 0,
    ignored: /embedded form/,
  },
  'awsdocs-subsegment-downstream-http-content-length-minus1.json': {
    traces: 0,
    loose: 0,
    ignored: /embedded form/,
  },
  'awsdocs-subsegment-sql-postgresql.json': { traces: 0, loose: 0, ignored: /embedded form/ },
  'grafana-trace-dynamodb-error-2-exceptions-inferred-fault-document-objects.json': {
    traces: 1,
    loose: 0,
    ignored: null,
    nodes: 3,
  },
  'iatk-segment-apigateway-stage-with-lambda-invoke-subsegment.json': {
    traces: 0,
    loose: 1,
    ignored: null,
    nodes: 2,
  },
  'iatk-segment-inferred-eventbridge-putevents.json': { traces: 0, loose: 1, ignored: null },
  'iatk-segment-lambda-async-invoke-dwell-time-attempt.json': {
    traces: 0,
    loose: 1,
    ignored: null,
    nodes: 3,
  },
  'iatk-segment-lambda-function-init-invocation-overhead-eventbridge.json': {
    traces: 0,
    loose: 1,
    ignored: null,
    nodes: 5,
  },
  'iatk-trace-lambda-with-span-links-document-objects.json': { traces: 1, loose: 0, ignored: null },
  'iatk-trace-stepfunctions-lambda-31-segments-document-objects.json': {
    traces: 1,
    loose: 0,
    ignored: null,
    nodes: 765,
  },
  'lambdawg-gettracesummaries-tracesummaries-lambda-rootcauses-serviceids.json': {
    traces: 0,
    loose: 0,
    ignored: /^trace summaries in a \{"summary": \[\.\.\.\]\} wrapper/,
  },
  'moto-puttracesegments-docs-in-progress-plus-integer-epoch-times.json': {
    traces: 0,
    loose: 2,
    ignored: null,
  },
  'otel-awsMissingAwsField-server-segment-no-aws-block.json': { traces: 0, loose: 1, ignored: null },
  'otel-awsValidAwsFields-go-sdk-server-ecs-ec2-beanstalk.json': { traces: 0, loose: 1, ignored: null },
  'otel-ddbSample-go-sdk-dynamodb-fault-nested-6-deep-annotations-metadata.json': {
    traces: 0,
    loose: 1,
    ignored: null,
    nodes: 18,
  },
  'otel-indepSubsegment-remote-http-traced.json': { traces: 0, loose: 1, ignored: null },
  'otel-indepSubsegmentWithLocalNamespace-namespace-local.json': { traces: 0, loose: 1, ignored: null },
  'otel-indepSubsegmentWithSql-postgres-jdbc.json': { traces: 0, loose: 1, ignored: null },
  'otel-minCauseIsExceptionId-fault-cause-as-string-id.json': { traces: 0, loose: 1, ignored: null },
  'otel-minInProgress-in-progress-segment.json': { traces: 0, loose: 1, ignored: null },
  'otel-minOtherFields-throttle-origin-resource-arn-parent-id.json': { traces: 0, loose: 1, ignored: null },
  'otel-serverSample-go-sdk-http-server-segment.json': { traces: 0, loose: 1, ignored: null },
};

describe('public X-Ray fixtures, top level', () => {
  it('covers every top-level file', () => {
    const files = readdirSync(fixtures).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual(Object.keys(TOP_LEVEL).sort());
  });

  it.each(Object.entries(TOP_LEVEL))('%s decodes with no rejections', (file, expected) => {
    const out = decodeFile(file);
    expect(out).not.toBeNull();
    expect(out!.rejections).toEqual([]);
    expect(out!.traces).toHaveLength(expected.traces);
    expect(out!.loose).toHaveLength(expected.loose);
    if (expected.ignored) {
      expect(out!.ignored.length).toBeGreaterThan(0);
      for (const i of out!.ignored) expect(i.what).toMatch(expected.ignored);
    } else {
      expect(out!.ignored).toEqual([]);
    }
    if (expected.nodes !== undefined) expect(nodeCount(out!)).toBe(expected.nodes);
  });

  it('awsdocs-segment-minimal-complete.json is listed as "parses: no" in SOURCES.md, but it is valid JSON and a complete segment: one node, exponent times read as ms', () => {
    const out = decodeFile('awsdocs-segment-minimal-complete.json')!;
    const node = out.loose[0]!;
    expect(node).toMatchObject({
      kind: 'segment',
      name: 'example.com',
      id: '70de5b6f19ff9a0a',
      traceId: '1-581cf771-a006649127e371903a2de979',
      startMs: 1478293361271,
      endMs: 1478293361449,
      parentId: null,
    });
  });

  it('the awsdocs subsegment samples are the embedded form (no trace_id, type or parent_id): validated, then set aside because they name no trace', () => {
    for (const file of Object.keys(TOP_LEVEL).filter((f) => f.startsWith('awsdocs-subsegment-'))) {
      const out = decodeFile(file)!;
      expect(out.ignored).toHaveLength(1);
      expect(out.ignored[0]!.what).toContain('names no trace to join');
    }
  });

  it('the awscli BatchGetTraces response maps DynamoDB fields and keeps the inferred segment a segment', () => {
    const out = decodeFile('awscli-batchgettraces-response-scorekeep-beanstalk-dynamodb-inferred.json')!;
    const [trace] = out.traces;
    expect(trace!.traceId).toBe('1-5d82881a-0a9126e92a73e971eed891b9');
    const [root, inferred] = trace!.nodes;
    expect(root).toMatchObject({
      kind: 'segment',
      name: 'Scorekeep',
      origin: 'AWS::ElasticBeanstalk::Environment',
      httpMethod: 'POST',
      httpStatus: 200,
      startMs: 1568835610432,
      endMs: 1568835610664,
    });
    expect(root!.children[0]).toMatchObject({
      kind: 'subsegment',
      name: 'DynamoDB',
      namespace: 'aws',
      awsOperation: 'UpdateItem',
      awsResource: 'scorekeep-user',
      parentId: '54aff5735b12dd28',
      traceId: trace!.traceId,
      origin: 'AWS::ElasticBeanstalk::Environment',
    });
    expect(inferred).toMatchObject({ kind: 'segment', inferred: true, parentId: '2d6900034ccfe558' });
  });

  it('the 5-segment BatchGetTraces response flattens into one trace rooted at the Beanstalk segment', () => {
    const out = decodeFile('awsdocs-batchgettraces-response-scorekeep-lambda-sns-dynamodb-5-segments.json')!;
    const { traceId, nodes } = out.traces[0]!;
    const { roots, orphans, duplicates } = linkTrace(traceId, nodes);
    expect({ orphans, duplicates }).toEqual({ orphans: 0, duplicates: 0 });
    const { spans, trace } = flattenTrace(traceId, roots, 300_000);
    expect(trace).toMatchObject({ root_service: 'Scorekeep', response_time_ms: 3232, is_partial: false });
    expect(spans.filter((s) => s.kind === 'segment')).toHaveLength(5);
    const sns = spans.find((s) => s.aws_operation === 'Publish' && s.kind === 'subsegment');
    expect(sns?.aws_resource).toBeTruthy();
  });

  it('the Step Functions trace keeps 4 in-progress subsegments out of the rows and marks the trace partial', () => {
    const out = decodeFile('iatk-trace-stepfunctions-lambda-31-segments-document-objects.json')!;
    const { traceId, nodes } = out.traces[0]!;
    expect(nodes).toHaveLength(31);
    const { roots } = linkTrace(traceId, nodes);
    const { spans, trace, inProgress } = flattenTrace(traceId, roots, 300_000);
    expect(inProgress).toBe(4);
    expect(spans).toHaveLength(765 - 4);
    expect(trace!.is_partial).toBe(true);
    expect(new Set(spans.map((s) => s.window_start)).size).toBe(1);
    for (const s of spans) expect(s.self_ms).toBeGreaterThanOrEqual(0);
  });

  it('moto: an in-progress segment and a complete one with integer epoch seconds', () => {
    const out = decodeFile('moto-puttracesegments-docs-in-progress-plus-integer-epoch-times.json')!;
    expect(out.loose.map((n) => n.endMs)).toEqual([null, 1478293385000]);
    expect(out.loose[1]!.startMs).toBe(1478293365000);
  });

  it('otel minCauseIsExceptionId: a cause given as a 16-character exception ID string is accepted', () => {
    const out = decodeFile('otel-minCauseIsExceptionId-fault-cause-as-string-id.json')!;
    expect(out.loose[0]).toMatchObject({ fault: true });
  });

  it('otel minOtherFields: throttle and origin on an independent subsegment', () => {
    const out = decodeFile('otel-minOtherFields-throttle-origin-resource-arn-parent-id.json')!;
    expect(out.loose[0]).toMatchObject({
      kind: 'subsegment',
      throttle: true,
      error: false,
      origin: 'AWS::EC2::Instance',
      parentId: 'defdfd9912dc5a56',
    });
  });

  it('otel indepSubsegmentWithLocalNamespace: namespace "local" is allowed', () => {
    expect(
      decodeFile('otel-indepSubsegmentWithLocalNamespace-namespace-local.json')!.loose[0]!.namespace,
    ).toBe('local');
  });

  it('otel ddbSample: annotations become strings and the 6-level tree is kept', () => {
    const node = decodeFile('otel-ddbSample-go-sdk-dynamodb-fault-nested-6-deep-annotations-metadata.json')!
      .loose[0]!;
    const all: (typeof node)[] = [];
    const walk = (n: typeof node, depth: number, max: { d: number }): void => {
      all.push(n);
      max.d = Math.max(max.d, depth);
      for (const c of n.children) walk(c, depth + 1, max);
    };
    const max = { d: 0 };
    walk(node, 0, max);
    expect(max.d).toBe(5);
    const annotated = all.find((n) => n.annotations !== null);
    for (const v of Object.values(annotated!.annotations!)) expect(typeof v).toBe('string');
  });

  it('SQL subsegment: sql.url and database_type are mapped', () => {
    const node = decodeFile('otel-indepSubsegmentWithSql-postgres-jdbc.json')!.loose[0]!;
    expect(node.sqlDatabaseType).toBe('PostgreSQL');
    expect(node.sqlUrl).toMatch(/^jdbc:postgresql:/);
  });
});

async function readAll(
  file: string,
): Promise<{ rejections: Rejection[]; decoded: DecodedRecord[]; unrecognised: number }> {
  const rejections: Rejection[] = [];
  const decoded: DecodedRecord[] = [];
  let unrecognised = 0;
  for await (const event of new FileSource(file).read()) {
    if (event.type === 'rejected') rejections.push(event.rejection);
    if (event.type === 'record') {
      const out = decodeXRayRecord(event.record);
      if (out === null) unrecognised++;
      else {
        decoded.push(out);
        rejections.push(...out.rejections);
      }
    }
  }
  return { rejections, decoded, unrecognised };
}

describe('public X-Ray fixtures, invalid/', () => {
  const files = readdirSync(invalidDir).sort();

  it.each(files.filter((f) => f !== 'awscli-gettracesummaries-output-wrong-shape-url-list.json'))(
    '%s yields at least one rejection with a reason',
    async (file) => {
      const { rejections } = await readAll(path.join(invalidDir, file));
      expect(rejections.length).toBeGreaterThan(0);
      for (const r of rejections) {
        expect(r.reason.length).toBeGreaterThan(20);
        expect(r.location.source).toBe(path.join(invalidDir, file));
      }
    },
  );

  it('awscli get-trace-summaries "output" is a bare array of URL strings: not X-Ray-shaped, so the decoder returns null and the combined decoder (lib/core/decode.ts) rejects it', async () => {
    const file = path.join(invalidDir, 'awscli-gettracesummaries-output-wrong-shape-url-list.json');
    const { rejections, unrecognised } = await readAll(file);
    expect(unrecognised).toBe(1);
    expect(rejections).toEqual([]);
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    const combined = decodeRecord({ value, location: { source: file } });
    expect(combined.rejections).toHaveLength(1);
    expect(combined.rejections[0]!.reason).toMatch(/^not a recognised document: /);
  });

  const reasons: [string, RegExp][] = [
    [
      'awsdocs-apigateway-stage-segment-document-as-object-nonhex-subsegment-id.json',
      /^subsegment "Lambda" \(Document > subsegments\[0\]\): id "abcdefgh12345678" is not 16 hex digits$/,
    ],
    [
      'datadog-subsegment-id-equals-parent-id-integer-times.json',
      /id "30652c287aaff114" equals its own parent_id/,
    ],
    [
      'otel-invalidNamespace-ddb-sample-with-namespace-invalidNs.json',
      /^subsegment "dynamodb" \(subsegments\[0\] > subsegments\[0\]\): namespace "invalidNs" is not "aws", "remote" or "local"$/,
    ],
    [
      'otel-minCauseIsInvalid-cause-is-number.json',
      /cause 200 is neither an object nor a 16-character exception ID/,
    ],
    [
      'otel-segmentValidationFailed-missing-start-time.json',
      /^segment "SampleServer": start_time is missing$/,
    ],
    [
      'otel-segmentWithParentId-no-end-time-no-in-progress.json',
      /end_time is missing and in_progress is not true/,
    ],
    [
      'iatk-segment-lambda-function-nonhex-trace-id.json',
      /trace_id "1-12de5a99-5d09hh705e56aad0152548cb" is not an X-Ray trace ID/,
    ],
    [
      'otel-indepSubsegmentWithInvalidSqlUrl-sql-url-no-scheme.json',
      /sql\.url "\/\/aawijb5u25wdoy.* has no scheme/,
    ],
    [
      'otel-indepSubsegmentWithContentLengthString-content-length-as-string-bad-timestamps.json',
      /start_time 14782323361\.271 is not an epoch time in seconds/,
    ],
    [
      'grafana-trace-empty-document-nonstandard-ids-limitexceeded-null.json',
      /Id "trace1" is not an X-Ray trace ID/,
    ],
    [
      'grafana-trace-partial-doc-in-progress-subsegment-no-trace-id-no-times.json',
      /^segment "myfrontend-dev" \(Segments\[0\]\.Document\): trace_id is missing$/,
    ],
    [
      'adot-testframework-expected-apigw-lambda-s3-partial-segments-no-ids.json',
      /^segment "S3" \(\[4\]\): trace_id is missing$/,
    ],
    [
      'awsdocs-independent-subsegment-missing-comma.json',
      /^not valid JSON at line \d+, column \d+: expected ',' or '}' after a property value, found '"'$/,
    ],
    [
      'awsdocs-subsegment-dynamodb-trailing-comma.json',
      /^not valid JSON at line \d+, column \d+: expected a double-quoted property name, found '}' \(a trailing comma\?\)$/,
    ],
    ['awsdocs-segment-in-progress-smart-quotes.json', /typographic quote/],
    [
      'awscli-getservicegraph-output-truncated-for-brevity.json',
      /^not valid JSON at line \d+, column \d+: expected a value, found '\.'$/,
    ],
    [
      'awsdocs-batchgettraces-traces-query-output-truncated.json',
      /^not valid JSON at line \d+, column \d+: /,
    ],
  ];

  it.each(reasons)('%s: the reason names the problem', async (file, pattern) => {
    const { rejections } = await readAll(path.join(invalidDir, file));
    expect(rejections.map((r) => r.reason)).toContainEqual(expect.stringMatching(pattern));
  });

  it('the daemon UDP payload (.jsonl): the header line is rejected, the segment on line 2 is decoded', async () => {
    const { rejections, decoded } = await readAll(
      path.join(invalidDir, 'awsdocs-daemon-udp-payload-header-plus-segment.jsonl'),
    );
    expect(rejections).toHaveLength(1);
    expect(rejections[0]!.location.line).toBe(1);
    expect(rejections[0]!.reason).toContain('daemon UDP header');
    const nodes = decoded.flatMap((d) => d.loose);
    expect(nodes.map((n) => [n.name, n.location.line])).toEqual([['test.elasticbeanstalk.com', 2]]);
  });

  it('the invalidNamespace sample is rejected whole: one rejection, no node of its 18', async () => {
    const { rejections, decoded } = await readAll(
      path.join(invalidDir, 'otel-invalidNamespace-ddb-sample-with-namespace-invalidNs.json'),
    );
    expect(rejections).toHaveLength(1);
    expect(decoded.flatMap((d) => d.loose)).toEqual([]);
    expect(rejections[0]!.raw).toContain('invalidNs');
  });

  it('the Grafana SQL trace with fake ids: every document is rejected, none is kept', async () => {
    const { decoded } = await readAll(
      path.join(invalidDir, 'grafana-trace-sql-postgres-ecs-fake-nonhex-ids-document-objects.json'),
    );
    expect(decoded.flatMap((d) => [...d.loose, ...d.traces])).toEqual([]);
  });
});
