import { describe, expect, it } from 'vitest';
import { MultiSource } from '../../lib/adapters/multi-source.js';
import type { SourceEvent, TraceSource } from '../../lib/core/ports.js';

function fake(name: string, values: number[], seen: unknown[]): TraceSource {
  return {
    describe: () => name,
    stats: () => ({ records: values.length }),
    async *read(range) {
      seen.push(range);
      for (const value of values) yield { type: 'record', record: { value, location: { source: name } } };
    },
  };
}

describe('MultiSource', () => {
  it('reads each source in turn with the same range and keeps their counters apart', async () => {
    const ranges: unknown[] = [];
    const source = new MultiSource([fake('xray', [1, 2], ranges), fake('s3://lake/raw', [3], ranges)]);
    const range = { fromMs: 0, toMs: 300_000 };

    const events: SourceEvent[] = [];
    for await (const e of source.read(range)) events.push(e);

    expect(events.map((e) => (e.type === 'record' ? e.record.value : null))).toEqual([1, 2, 3]);
    expect(ranges).toEqual([range, range]);
    expect(source.describe()).toBe('xray + s3://lake/raw');
    expect(source.stats()).toEqual({ '0.records': 2, '1.records': 1 });
  });
});
