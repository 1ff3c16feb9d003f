import {
  BatchGetTracesCommand,
  type BatchGetTracesCommandInput,
  GetTraceSummariesCommand,
  InvalidRequestException,
  ThrottledException,
  XRayClient,
} from '@aws-sdk/client-xray';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { combinedFilter, isRetryable, TokenBucket, XRaySource } from '../../lib/adapters/xray-source.js';
import { SourceError } from '../../lib/core/errors.js';
import type { SourceEvent } from '../../lib/core/ports.js';

const xray = mockClient(XRayClient);
const client = new XRayClient({ region: 'us-east-1' });
const range = { fromMs: Date.UTC(2026, 0, 1, 10, 0), toMs: Date.UTC(2026, 0, 1, 10, 5) };
const noSleep = async () => {};

function traceId(i: number): string {
  return `1-6956460${(i % 10).toString(16)}-${i.toString(16).padStart(24, '0')}`;
}

function segmentDoc(id: string): string {
  return JSON.stringify({ trace_id: id, id: 'a'.repeat(16), name: 'svc', start_time: 1, end_time: 2 });
}

/** BatchGetTraces answering every asked ID with one segment. */
function answerAll(input: BatchGetTracesCommandInput) {
  return {
    Traces: (input.TraceIds ?? []).map((Id) => ({
      Id,
      Segments: [{ Id: 'a'.repeat(16), Document: segmentDoc(Id) }],
    })),
  };
}

async function collect(source: XRaySource): Promise<SourceEvent[]> {
  const out: SourceEvent[] = [];
  for await (const e of source.read(range)) out.push(e);
  return out;
}

function ids(events: SourceEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'trace' ? [e.traceId] : []));
}

afterEach(() => {
  xray.reset();
});

describe('XRaySource', () => {
  it('pages GetTraceSummaries to the end and asks by trace ID time with the margin', async () => {
    // Prepare
    const all = Array.from({ length: 7 }, (_, i) => traceId(i));
    xray
      .on(GetTraceSummariesCommand)
      .resolvesOnce({ TraceSummaries: all.slice(0, 3).map((Id) => ({ Id })), NextToken: 't1' })
      .resolvesOnce({ TraceSummaries: all.slice(3, 5).map((Id) => ({ Id })), NextToken: 't2' })
      .resolvesOnce({ TraceSummaries: all.slice(5).map((Id) => ({ Id })) });
    xray.on(BatchGetTracesCommand).callsFake(answerAll);
    const source = new XRaySource(client, { maxRps: 1000, sleep: noSleep, marginMs: 1000 });

    // Act
    const events = await collect(source);

    // Assess
    expect(ids(events)).toEqual(all);
    const calls = xray.commandCalls(GetTraceSummariesCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.NextToken)).toEqual([undefined, 't1', 't2']);
    expect(calls[0]).toMatchObject({
      TimeRangeType: 'TraceId',
      StartTime: new Date(range.fromMs - 1000),
      EndTime: new Date(range.toMs + 1000),
    });
    expect(source.stats()).toMatchObject({ summaries: 7, traces: 7, GetTraceSummaries_calls: 3 });
    expect(source.summaries().map((s) => s.id)).toEqual(all);
  });

  it('asks BatchGetTraces for at most 5 IDs per call and fetches every ID once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 6 }),
        async (n, concurrency) => {
          xray.reset();
          const all = Array.from({ length: n }, (_, i) => traceId(i));
          xray.on(GetTraceSummariesCommand).resolves({ TraceSummaries: all.map((Id) => ({ Id })) });
          xray.on(BatchGetTracesCommand).callsFake(answerAll);
          const events = await collect(new XRaySource(client, { maxRps: 1e6, concurrency, sleep: noSleep }));
          const asked = xray.commandCalls(BatchGetTracesCommand).map((c) => c.args[0].input.TraceIds ?? []);
          expect(asked.every((b) => b.length >= 1 && b.length <= 5)).toBe(true);
          expect(asked.flat().sort()).toEqual([...all].sort());
          expect(asked.length).toBe(Math.ceil(n / 5));
          // Listing order is kept whatever the concurrency.
          expect(ids(events)).toEqual(all);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keeps at most `concurrency` BatchGetTraces calls in flight', async () => {
    const all = Array.from({ length: 40 }, (_, i) => traceId(i));
    xray.on(GetTraceSummariesCommand).resolves({ TraceSummaries: all.map((Id) => ({ Id })) });
    let inFlight = 0;
    let maxInFlight = 0;
    xray.on(BatchGetTracesCommand).callsFake(async (input: BatchGetTracesCommandInput) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      return answerAll(input);
    });

    const events = await collect(new XRaySource(client, { maxRps: 1e6, concurrency: 3, sleep: noSleep }));

    expect(ids(events)).toHaveLength(40);
    expect(maxInFlight).toBe(3);
  });

  it('retries UnprocessedTraceIds until they come back', async () => {
    const all = Array.from({ length: 5 }, (_, i) => traceId(i));
    xray.on(GetTraceSummariesCommand).resolves({ TraceSummaries: all.map((Id) => ({ Id })) });
    xray
      .on(BatchGetTracesCommand)
      .callsFakeOnce((input: BatchGetTracesCommandInput) => ({
        Traces: answerAll({ TraceIds: input.TraceIds?.slice(0, 2) }).Traces,
        UnprocessedTraceIds: input.TraceIds?.slice(2),
      }))
      .callsFakeOnce((input: BatchGetTracesCommandInput) => ({
        Traces: answerAll({ TraceIds: input.TraceIds?.slice(0, 1) }).Traces,
        UnprocessedTraceIds: input.TraceIds?.slice(1),
      }))
      .callsFake(answerAll);
    const source = new XRaySource(client, { maxRps: 1e6, sleep: noSleep });

    const events = await collect(source);

    expect(ids(events)).toEqual(all);
    const asked = xray.commandCalls(BatchGetTracesCommand).map((c) => c.args[0].input.TraceIds);
    expect(asked).toEqual([all, all.slice(2), all.slice(3)]);
    expect(source.stats()).toMatchObject({ unprocessed_retried: 5, traces: 5 });
    expect(source.stats().unprocessed_lost).toBeUndefined();
  });

  it('counts IDs that stay unprocessed after the bounded retries', async () => {
    const all = [traceId(1), traceId(2)];
    xray.on(GetTraceSummariesCommand).resolves({ TraceSummaries: all.map((Id) => ({ Id })) });
    xray.on(BatchGetTracesCommand).callsFake((input: BatchGetTracesCommandInput) => ({
      Traces: answerAll({ TraceIds: input.TraceIds?.filter((id) => id === all[0]) }).Traces,
      UnprocessedTraceIds: input.TraceIds?.filter((id) => id === all[1]),
    }));
    const source = new XRaySource(client, { maxRps: 1e6, sleep: noSleep, unprocessedRetries: 3 });

    const events = await collect(source);

    expect(ids(events)).toEqual([all[0]]);
    expect(xray.commandCalls(BatchGetTracesCommand)).toHaveLength(4);
    expect(source.stats()).toMatchObject({ unprocessed_retried: 3, unprocessed_lost: 1 });
  });

  it('skips and counts partial traces, counts LimitExceeded, passes raw segments through', async () => {
    const [a, b, c] = [traceId(1), traceId(2), traceId(3)];
    xray.on(GetTraceSummariesCommand).resolves({
      TraceSummaries: [
        { Id: a, Duration: 0.25, HasFault: true, Http: { HttpMethod: 'GET', HttpStatus: 502 } },
        { Id: b, IsPartial: true },
        { Id: c, Annotations: { tier: [{ AnnotationValue: { StringValue: 'gold' } }] } },
        { Id: a },
      ],
    });
    xray.on(BatchGetTracesCommand).callsFake((input: BatchGetTracesCommandInput) => ({
      Traces: (input.TraceIds ?? []).map((Id) => ({
        Id,
        LimitExceeded: Id === c,
        Segments: [
          { Id: '1'.repeat(16), Document: segmentDoc(Id) },
          { Id: '2'.repeat(16), Document: segmentDoc(Id) },
        ],
      })),
    }));
    const source = new XRaySource(client, { maxRps: 1e6, sleep: noSleep });

    const events = await collect(source);

    expect(ids(events)).toEqual([a, c]);
    expect(xray.commandCalls(BatchGetTracesCommand)[0]?.args[0].input.TraceIds).toEqual([a, c]);
    expect(source.stats()).toMatchObject({ summaries: 3, partial_skipped: 1, limit_exceeded: 1, traces: 2 });
    const first = events[0];
    if (first?.type !== 'trace') throw new Error('expected a trace event');
    expect(first.documents).toEqual([
      {
        value: { Id: '1'.repeat(16), Document: segmentDoc(a) },
        location: { source: 'xray:BatchGetTraces', pointer: `Traces[${a}].Segments[0]` },
      },
      {
        value: { Id: '2'.repeat(16), Document: segmentDoc(a) },
        location: { source: 'xray:BatchGetTraces', pointer: `Traces[${a}].Segments[1]` },
      },
    ]);
    expect(first.summary).toMatchObject({ id: a, durationMs: 250, hasFault: true, httpStatus: 502 });
    expect(source.summaries()[1]).toMatchObject({ id: c, annotations: { tier: 'gold' } });
  });

  it('waits out throttling beyond the SDK retries, then fails clearly when it never ends', async () => {
    const all = [traceId(1)];
    const throttled = () =>
      new ThrottledException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });
    xray
      .on(GetTraceSummariesCommand)
      .rejectsOnce(throttled())
      .resolves({ TraceSummaries: [{ Id: all[0] }] });
    xray.on(BatchGetTracesCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).callsFake(answerAll);
    const slept: number[] = [];
    const source = new XRaySource(client, {
      maxRps: 1e6,
      retryDelayMs: 100,
      sleep: async (ms) => void slept.push(ms),
    });

    expect(ids(await collect(source))).toEqual(all);
    expect(source.stats()).toMatchObject({ throttled_retries: 3 });
    expect(slept).toEqual([100, 100, 200]);

    xray.reset();
    xray.on(GetTraceSummariesCommand).rejects(throttled());
    const stubborn = new XRaySource(client, { maxRps: 1e6, callRetries: 2, sleep: noSleep });
    await expect(collect(stubborn)).rejects.toThrow(
      /GetTraceSummaries failed after 3 attempts: ThrottledException/,
    );
  });

  it('does not retry errors that waiting cannot fix', async () => {
    xray
      .on(GetTraceSummariesCommand)
      .rejects(new InvalidRequestException({ message: 'bad filter', $metadata: { httpStatusCode: 400 } }));
    const source = new XRaySource(client, { sleep: noSleep });
    await expect(collect(source)).rejects.toBeInstanceOf(SourceError);
    expect(xray.commandCalls(GetTraceSummariesCommand)).toHaveLength(1);
  });

  it('needs a range and sends the group and filter expression together', async () => {
    const source = new XRaySource(client, {
      filterExpression: 'responsetime > 1',
      group: 'checkout',
      sleep: noSleep,
    });
    await expect(async () => {
      for await (const _ of source.read()) void _;
    }).rejects.toThrow(/needs a time range/);

    xray.on(GetTraceSummariesCommand).resolves({ TraceSummaries: [] });
    await collect(source);
    expect(xray.commandCalls(GetTraceSummariesCommand)[0]?.args[0].input.FilterExpression).toBe(
      '(group.name = "checkout") AND (responsetime > 1)',
    );
    expect(combinedFilter(undefined, undefined)).toBeUndefined();
    expect(combinedFilter('service("a")')).toBe('service("a")');
  });

  it('lists long ranges in chunks without repeating a trace', async () => {
    const all = [traceId(1), traceId(2)];
    xray.on(GetTraceSummariesCommand).resolves({ TraceSummaries: all.map((Id) => ({ Id })) });
    xray.on(BatchGetTracesCommand).callsFake(answerAll);
    const source = new XRaySource(client, { maxRps: 1e6, sleep: noSleep, chunkMs: 60_000, marginMs: 0 });

    const events = await collect(source);

    expect(xray.commandCalls(GetTraceSummariesCommand)).toHaveLength(5);
    expect(ids(events)).toEqual(all);
  });
});

describe('isRetryable', () => {
  it('tells throttling and server errors from the rest', () => {
    expect(isRetryable(new ThrottledException({ message: 'x', $metadata: {} }))).toBe('throttle');
    expect(isRetryable({ name: 'Whatever', $metadata: { httpStatusCode: 429 } })).toBe('throttle');
    expect(isRetryable({ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } })).toBe('server');
    expect(isRetryable({ name: 'InvalidRequestException', $metadata: { httpStatusCode: 400 } })).toBeNull();
  });
});

describe('TokenBucket', () => {
  it('allows a burst of `rate` calls, then one call per 1/rate seconds', async () => {
    let now = 0;
    const sleeps: number[] = [];
    const bucket = new TokenBucket(
      4,
      () => now,
      async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    );
    const times: number[] = [];
    for (let i = 0; i < 12; i++) {
      await bucket.take();
      times.push(now);
    }
    // 4 at once, then 8 more at 250 ms spacing.
    expect(times.slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(times[11]).toBe(2000);
    for (let i = 5; i < 12; i++) expect(times[i]! - times[i - 1]!).toBe(250);
  });
});
