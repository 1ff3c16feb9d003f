import { describe, expect, it } from 'vitest';
import type { DecodedRecord } from '../../../lib/core/model.js';
import { decodeBatchGetTracesByTrace, decodeXRayRecord } from '../../../lib/core/xray/decode.js';

const TRACE = '1-581cf771-a006649127e371903a2de979';
const doc = (over: Record<string, unknown>) =>
  JSON.stringify({
    name: 'api',
    id: '70de5b6f19ff9a0a',
    trace_id: TRACE,
    start_time: 1.5e9,
    end_time: 1.5e9 + 1,
    ...over,
  });

function concat(pieces: Iterable<DecodedRecord>): DecodedRecord {
  const out = { traces: [], loose: [], rejections: [], ignored: [] } as {
    [K in keyof DecodedRecord]: DecodedRecord[K][number][];
  };
  for (const p of pieces) {
    out.traces.push(...p.traces);
    out.loose.push(...p.loose);
    out.rejections.push(...p.rejections);
    out.ignored.push(...p.ignored);
  }
  return out;
}

describe('decodeBatchGetTracesByTrace', () => {
  it('gives, piece by piece, what decodeXRayRecord gives for the whole response', () => {
    const record = {
      value: {
        Traces: [
          {
            Id: TRACE,
            Segments: [
              { Id: 'a', Document: doc({}) },
              { Id: 'b', Document: '{not json' },
            ],
          },
          'not a trace',
          { Id: 'bad id', Segments: [{ Id: 'c', Document: doc({ id: '0e58d2918e9038e8' }) }] },
          { Id: TRACE, Segments: [{ Id: 'd', Document: doc({ id: 'zz' }) }] },
        ],
        UnprocessedTraceIds: ['1-581cf771-a006649127e371903a2de970'],
      },
      location: { source: 'batch.json', pointer: 'pages[3]' },
    };
    const pieces = decodeBatchGetTracesByTrace(record);
    expect(pieces).not.toBeNull();
    const whole = decodeXRayRecord(record)!;
    const joined = concat(pieces!);
    expect(joined).toEqual(whole);
    expect(whole.traces).toHaveLength(1);
    expect(whole.loose).toHaveLength(1);
    expect(whole.rejections.map((r) => r.location.pointer)).toEqual([
      'pages[3].Traces[0].Segments[1].Document',
      'pages[3].Traces[1]',
      'pages[3].Traces[2].Id',
      'pages[3].Traces[3].Segments[0].Document',
    ]);
    expect(joined.traces[0]!.nodes[0]!.location.pointer).toBe('pages[3].Traces[0].Segments[0].Document');
    expect(whole.ignored).toHaveLength(1);
  });

  it('is null for anything but a BatchGetTraces response', () => {
    expect(decodeBatchGetTracesByTrace({ value: { Segments: [] }, location: { source: 'x' } })).toBeNull();
    expect(decodeBatchGetTracesByTrace({ value: [{ Traces: [] }], location: { source: 'x' } })).toBeNull();
  });
});
