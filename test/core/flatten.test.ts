import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flattenTrace, linkTrace, selfTime } from '../../lib/core/flatten.js';
import type { SpanNode, SpanRow } from '../../lib/core/model.js';
import { spanNode } from '../helpers/span-node.js';

const TRACE = '1-581cf771-a006649127e371903a2de979';
const W = 300_000;
const T0 = Date.UTC(2026, 0, 1, 10, 7);

function node(id: string, startMs: number, endMs: number | null, extra: Partial<SpanNode> = {}): SpanNode {
  return spanNode({ traceId: TRACE, id, name: id, startMs, endMs, ...extra });
}

const seg = (id: string, s: number, e: number | null, extra: Partial<SpanNode> = {}) =>
  node(id, s, e, { kind: 'segment', ...extra });

describe('selfTime', () => {
  it('subtracts the union of children, overlaps once, clamped to the parent', () => {
    expect(
      selfTime(0, 100, [
        { startMs: 10, endMs: 40 },
        { startMs: 30, endMs: 60 },
        { startMs: 90, endMs: 150 },
      ]),
    ).toBe(40);
  });
  it('ignores in-progress children and children wholly outside', () => {
    expect(
      selfTime(0, 100, [
        { startMs: 10, endMs: null },
        { startMs: 200, endMs: 300 },
        { startMs: -50, endMs: -1 },
      ]),
    ).toBe(100);
  });
  it('is 0 when children cover the parent', () => {
    expect(
      selfTime(0, 100, [
        { startMs: -10, endMs: 60 },
        { startMs: 50, endMs: 120 },
      ]),
    ).toBe(0);
  });
  it('equals the duration minus the covered whole milliseconds, whatever the order of the children', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.array(fc.tuple(fc.integer({ min: -50, max: 250 }), fc.option(fc.integer({ min: 0, max: 120 }))), {
          maxLength: 8,
        }),
        (length, raw) => {
          const children = raw.map(([s, l]) => ({ startMs: s, endMs: l === null ? null : s + l }));
          let covered = 0;
          for (let ms = 0; ms < length; ms++) {
            if (children.some((c) => c.endMs !== null && c.startMs <= ms && ms + 1 <= c.endMs)) covered++;
          }
          const sorted = [...children].sort((a, b) => a.startMs - b.startMs);
          expect(selfTime(0, length, children)).toBe(length - covered);
          expect(selfTime(0, length, sorted)).toBe(length - covered);
        },
      ),
    );
  });
});

describe('linkTrace', () => {
  it('attaches independent subsegments to their parent, nested ones included, and keeps segments as roots', () => {
    const root = seg('a000000000000001', T0, T0 + 100, {
      children: [node('a000000000000002', T0 + 10, T0 + 50, { parentId: 'a000000000000001' })],
    });
    const indep = node('a000000000000003', T0 + 20, T0 + 30, { parentId: 'a000000000000002' });
    const downstream = seg('a000000000000004', T0 + 21, T0 + 29, { parentId: 'a000000000000003' });
    const { roots, duplicates, orphans } = linkTrace(TRACE, [root, indep, downstream]);
    expect({ duplicates, orphans }).toEqual({ duplicates: 0, orphans: 0 });
    expect(roots.map((r) => r.id)).toEqual(['a000000000000001', 'a000000000000004']);
    expect(roots[0]!.children[0]!.children.map((c) => c.id)).toEqual(['a000000000000003']);
    expect(root.children[0]!.children).toEqual([]);
  });

  it('prefers the complete copy of a duplicated id over the in-progress one, and counts duplicates', () => {
    const parent = seg('b000000000000001', T0, T0 + 100);
    const early = node('b000000000000002', T0 + 5, null, { parentId: 'b000000000000001' });
    const done = node('b000000000000002', T0 + 5, T0 + 60, { parentId: 'b000000000000001', fault: true });
    const again = { ...done };
    const { roots, duplicates } = linkTrace(TRACE, [parent, early, done, again]);
    expect(duplicates).toBe(2);
    expect(roots[0]!.children).toHaveLength(1);
    expect(roots[0]!.children[0]).toMatchObject({ endMs: T0 + 60, fault: true });
  });

  it('keeps the complete copy when the in-progress one comes second', () => {
    const done = seg('b000000000000003', T0, T0 + 10);
    const { roots, duplicates } = linkTrace(TRACE, [done, seg('b000000000000003', T0, null)]);
    expect(duplicates).toBe(1);
    expect(roots.map((r) => r.endMs)).toEqual([T0 + 10]);
  });

  it('keeps orphans and parent loops as roots and counts them', () => {
    const missing = node('c000000000000001', T0, T0 + 5, { parentId: 'cfffffffffffffff' });
    const noParent = node('c000000000000002', T0, T0 + 5);
    const loopA = node('c000000000000003', T0, T0 + 5, { parentId: 'c000000000000004' });
    const loopB = node('c000000000000004', T0, T0 + 5, { parentId: 'c000000000000003' });
    const self = node('c000000000000005', T0, T0 + 5, { parentId: 'c000000000000005' });
    const { roots, orphans } = linkTrace(TRACE, [missing, noParent, loopA, loopB, self]);
    expect(orphans).toBe(4);
    expect(roots.map((r) => r.id).sort()).toEqual([
      'c000000000000001',
      'c000000000000002',
      'c000000000000004',
      'c000000000000005',
    ]);
    const { spans } = flattenTrace(TRACE, roots, W);
    expect(spans).toHaveLength(5);
    expect(spans.find((s) => s.id === 'c000000000000001')).toMatchObject({
      service: 'c000000000000001',
      depth: 0,
      parent_id: 'cfffffffffffffff',
    });
  });
});

describe('flattenTrace', () => {
  const build = () => {
    const root = seg('d000000000000001', T0, T0 + 100, {
      name: 'api',
      origin: 'AWS::EC2::Instance',
      serviceVersion: '2.0',
      httpMethod: 'GET',
      httpStatus: 200,
      httpUrl: 'https://x/',
      annotations: { user: 'u1' },
      children: [
        node('d000000000000002', T0 + 10, null, {
          name: 'work',
          parentId: 'd000000000000001',
          children: [
            node('d000000000000003', T0 + 20, T0 + 30, {
              name: 'DynamoDB',
              parentId: 'd000000000000002',
              error: true,
            }),
          ],
        }),
        node('d000000000000004', T0 - 50, T0 + 40, { name: 'early', parentId: 'd000000000000001' }),
      ],
    });
    const inferred = seg('d000000000000005', T0 + 20, T0 + 30, {
      name: 'DynamoDB',
      inferred: true,
      parentId: 'd000000000000003',
      annotations: { user: 'other', table: 't' },
    });
    return [root, inferred];
  };

  it('emits complete spans with service, path, depth, parent ids and self time', () => {
    const { roots } = linkTrace(TRACE, build());
    const { spans, inProgress } = flattenTrace(TRACE, roots, W);
    expect(inProgress).toBe(1);
    const pick = (r: SpanRow) => [r.name, r.path, r.depth, r.parent_id, r.service, r.self_ms, r.segment_id];
    expect(spans.map(pick)).toEqual([
      ['api', 'api', 0, null, 'api', 60, 'd000000000000001'],
      ['early', 'api > early', 1, 'd000000000000001', 'api', 90, 'd000000000000001'],
      ['DynamoDB', 'api > work > DynamoDB', 2, 'd000000000000002', 'api', 10, 'd000000000000001'],
      ['DynamoDB', 'DynamoDB', 0, 'd000000000000003', 'DynamoDB', 10, 'd000000000000005'],
    ]);
    for (const s of spans) {
      expect(s.window_start).toBe(Date.UTC(2026, 0, 1, 10, 5));
      expect(s.trace_id).toBe(TRACE);
    }
    expect(spans[2]).toMatchObject({
      origin: 'AWS::EC2::Instance',
      service_version: '2.0',
      error: true,
      kind: 'subsegment',
    });
  });

  it('takes the window from the earliest start, in-progress nodes included', () => {
    const root = seg('e000000000000001', T0 + 1000, T0 + 2000, {
      children: [node('e000000000000002', T0 - 130_000, null, { parentId: 'e000000000000001' })],
    });
    const { spans, trace } = flattenTrace(TRACE, [root], W);
    expect(spans).toHaveLength(1);
    expect(spans[0]!.window_start).toBe(Date.UTC(2026, 0, 1, 10, 0));
    expect(trace!.start_time).toBe(T0 - 130_000);
  });

  it('builds the trace row from the non-inferred root segment and merges the rest', () => {
    const { roots } = linkTrace(TRACE, build());
    const { trace } = flattenTrace(TRACE, roots, W);
    expect(trace).toEqual({
      trace_id: TRACE,
      start_time: T0 - 50,
      duration_ms: 150,
      response_time_ms: 100,
      root_service: 'api',
      http_method: 'GET',
      http_url: 'https://x/',
      http_status: 200,
      has_error: true,
      has_fault: false,
      has_throttle: false,
      annotations: { user: 'u1', table: 't' },
      span_count: 4,
      service_count: 2,
      is_partial: true,
      window_start: Date.UTC(2026, 0, 1, 10, 5),
    });
  });

  it('gives no trace row when every node is in progress', () => {
    const { spans, trace, inProgress } = flattenTrace(TRACE, [seg('f000000000000001', T0, null)], W);
    expect({ spans, trace, inProgress }).toEqual({ spans: [], trace: null, inProgress: 1 });
  });

  it('uses an OpenTelemetry service name over the segment name', () => {
    const { spans, trace } = flattenTrace(
      TRACE,
      [seg('f000000000000002', T0, T0 + 1, { name: 'GET /', service: 'orders' })],
      W,
    );
    expect(spans[0]!.service).toBe('orders');
    expect(trace!.root_service).toBe('orders');
  });
});

/** A generated trace: node 0 is the root segment, node i>0 hangs under an earlier node. */
const treeArb = fc
  .array(
    fc.record({
      parent: fc.nat(),
      start: fc.integer({ min: -200, max: 1200 }),
      length: fc.integer({ min: 0, max: 600 }),
      inProgress: fc.integer({ min: 0, max: 9 }).map((n) => n < 3),
    }),
    { minLength: 1, maxLength: 40 },
  )
  .map((specs) =>
    specs.map((spec, i) => ({
      id: (i + 1).toString(16).padStart(16, '0'),
      parent: i === 0 ? -1 : spec.parent % i,
      startMs: i === 0 ? 0 : spec.start,
      endMs: spec.inProgress && i > 0 ? null : (i === 0 ? 0 : spec.start) + (i === 0 ? 1000 : spec.length),
    })),
  );

type Spec = { id: string; parent: number; startMs: number; endMs: number | null };

function nested(specs: Spec[]): SpanNode {
  const nodes = specs.map((s, i) =>
    node(s.id, s.startMs, s.endMs, {
      kind: i === 0 ? 'segment' : 'subsegment',
      parentId: s.parent < 0 ? null : specs[s.parent]!.id,
    }),
  );
  for (let i = specs.length - 1; i > 0; i--) nodes[specs[i]!.parent]!.children.unshift(nodes[i]!);
  return nodes[0]!;
}

/** Independent form: every node at top level, linked only by parentId. */
function loose(specs: Spec[]): SpanNode[] {
  return specs.map((s, i) =>
    node(s.id, s.startMs, s.endMs, {
      kind: i === 0 ? 'segment' : 'subsegment',
      parentId: s.parent < 0 ? null : specs[s.parent]!.id,
    }),
  );
}

/** Union measure by unit cells: independent of the implementation's interval merge. */
function coveredCells(
  parent: { start: number; end: number },
  children: { start: number; end: number }[],
): number {
  const cells = new Set<number>();
  for (const c of children) {
    for (let t = Math.max(c.start, parent.start); t < Math.min(c.end, parent.end); t++) cells.add(t);
  }
  return cells.size;
}

describe('flattening invariants (property)', () => {
  it('0 <= self <= duration, self + union of clamped children = duration, each node once, count = complete nodes', () => {
    fc.assert(
      fc.property(treeArb, (specs) => {
        const { roots } = linkTrace(TRACE, [nested(specs)]);
        const { spans, inProgress } = flattenTrace(TRACE, roots, W);
        const complete = specs.filter((s) => s.endMs !== null);
        expect(spans).toHaveLength(complete.length);
        expect(inProgress).toBe(specs.length - complete.length);
        expect(new Set(spans.map((s) => s.id)).size).toBe(spans.length);
        for (const [i, spec] of specs.entries()) {
          if (spec.endMs === null) continue;
          const row = spans.find((s) => s.id === spec.id)!;
          expect(row.self_ms).toBeGreaterThanOrEqual(0);
          expect(row.self_ms).toBeLessThanOrEqual(row.duration_ms);
          const kids = specs
            .filter((c) => c.parent === i && c.endMs !== null)
            .map((c) => ({ start: c.startMs, end: c.endMs as number }));
          const union = coveredCells({ start: spec.startMs, end: spec.endMs }, kids);
          expect(row.self_ms + union).toBe(row.duration_ms);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('clamping: a child reaching outside its parent takes no more time than the same child clamped inside it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.array(fc.tuple(fc.integer({ min: -500, max: 2000 }), fc.integer({ min: 0, max: 1500 })), {
          maxLength: 10,
        }),
        (start, length, raw) => {
          const end = start + length;
          const children = raw.map(([s, l]) => ({ startMs: s, endMs: s + l }));
          const clamped = children
            .map((c) => ({ startMs: Math.max(c.startMs, start), endMs: Math.min(c.endMs, end) }))
            .filter((c) => c.endMs > c.startMs);
          for (const c of clamped) {
            expect(c.startMs).toBeGreaterThanOrEqual(start);
            expect(c.endMs).toBeLessThanOrEqual(end);
          }
          expect(selfTime(start, end, children)).toBe(selfTime(start, end, clamped));
        },
      ),
    );
  });

  it('linking independent subsegments gives the same rows as the embedded tree, in any input order', () => {
    fc.assert(
      fc.property(
        treeArb.chain((specs) =>
          fc.tuple(fc.constant(specs), fc.shuffledSubarray(loose(specs), { minLength: specs.length })),
        ),
        ([specs, shuffled]) => {
          const expected = flattenTrace(TRACE, linkTrace(TRACE, [nested(specs)]).roots, W);
          const linked = linkTrace(TRACE, shuffled);
          expect(linked.orphans).toBe(0);
          expect(linked.duplicates).toBe(0);
          const actual = flattenTrace(TRACE, linked.roots, W);
          expect(actual.spans).toEqual(expected.spans);
          expect(actual.trace).toEqual(expected.trace);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('roots straight from linkTrace flatten as a copy of them does, and a root given twice without linking is emitted once', () => {
    fc.assert(
      fc.property(treeArb, fc.boolean(), (specs, nestedForm) => {
        const { roots } = linkTrace(TRACE, nestedForm ? [nested(specs)] : loose(specs));
        const copy = [...roots];
        const direct = flattenTrace(TRACE, roots, W);
        const copied = flattenTrace(TRACE, copy, W);
        expect(direct).toEqual(copied);
        // The same array again, after linkTrace has moved on: still read with the id guard.
        linkTrace(TRACE, loose(specs));
        expect(flattenTrace(TRACE, roots, W)).toEqual(copied);
        // A repeated tree that never went through linkTrace.
        const twice = flattenTrace(TRACE, [...roots, ...roots], W);
        expect(twice.spans).toEqual(copied.spans);
        expect(twice.inProgress).toBe(copied.inProgress);
      }),
      { numRuns: 200 },
    );
  });

  it('duplicated nodes are emitted once and counted', () => {
    fc.assert(
      fc.property(treeArb, fc.array(fc.nat(), { maxLength: 10 }), (specs, picks) => {
        const base = loose(specs);
        const copies = picks.map((p) => ({ ...base[p % base.length]! }));
        const { roots, duplicates } = linkTrace(TRACE, [...base, ...copies]);
        expect(duplicates).toBe(copies.length);
        const { spans } = flattenTrace(TRACE, roots, W);
        expect(spans).toHaveLength(specs.filter((s) => s.endMs !== null).length);
      }),
    );
  });
});
