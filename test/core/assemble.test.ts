import { describe, expect, it } from 'vitest';
import { LooseTraceBuffer } from '../../lib/core/assemble.js';
import type { SpanNode } from '../../lib/core/model.js';
import { spanNode } from '../helpers/span-node.js';

function node(traceId: string, id: string): SpanNode {
  return spanNode({ traceId, id, kind: 'segment', name: 'svc' });
}

describe('LooseTraceBuffer', () => {
  it('groups nodes by trace and drains them oldest first', () => {
    const buf = new LooseTraceBuffer(100);
    expect(buf.add(node('t1', 'a'))).toEqual([]);
    expect(buf.add(node('t2', 'b'))).toEqual([]);
    expect(buf.add(node('t1', 'c'))).toEqual([]);
    expect(buf.pendingNodes).toBe(3);
    const groups = buf.drain();
    expect(groups.map((g) => [g.traceId, g.nodes.map((n) => n.id)])).toEqual([
      ['t1', ['a', 'c']],
      ['t2', ['b']],
    ]);
    expect(buf.pendingNodes).toBe(0);
    expect(buf.drain()).toEqual([]);
  });

  it('evicts the oldest traces when full, and counts them', () => {
    const buf = new LooseTraceBuffer(3);
    buf.add(node('t1', 'a'));
    buf.add(node('t2', 'b'));
    buf.add(node('t3', 'c'));
    const evicted = buf.add(node('t4', 'd'));
    expect(evicted.map((g) => g.traceId)).toEqual(['t1']);
    expect(buf.evictedTraces).toBe(1);
    expect(buf.pendingNodes).toBe(3);
    expect(buf.drain().map((g) => g.traceId)).toEqual(['t2', 't3', 't4']);
  });

  it('never evicts the only trace it holds, however large', () => {
    const buf = new LooseTraceBuffer(2);
    for (let i = 0; i < 5; i++) expect(buf.add(node('big', `n${i}`))).toEqual([]);
    expect(buf.drain()[0]!.nodes).toHaveLength(5);
  });
});
