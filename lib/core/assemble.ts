/**
 * Groups decoded nodes into whole traces. Complete traces (from a trace wrapper or the X-Ray API)
 * pass straight through; loose nodes (bare segments, OTel spans one per line) wait in a bounded
 * buffer until the input ends, because the rest of their trace may come later.
 */
import type { SpanNode } from './model.js';

export interface TraceGroup {
  readonly traceId: string;
  readonly nodes: SpanNode[];
}

/**
 * A bounded buffer of loose nodes by trace ID.
 *
 * @example
 * const buf = new LooseTraceBuffer(1000);
 * const evicted = buf.add(node); // [] until more than 1000 nodes wait
 * const rest = buf.drain();      // every waiting trace, oldest first
 */
export class LooseTraceBuffer {
  private readonly traces = new Map<string, SpanNode[]>();
  private size = 0;
  /** Traces flushed before the input ended because the buffer was full (they may be split). */
  evictedTraces = 0;

  constructor(private readonly maxNodes: number) {}

  /** Adds a node; returns traces evicted to keep the buffer within bounds (oldest first). */
  add(node: SpanNode): TraceGroup[] {
    let list = this.traces.get(node.traceId);
    if (!list) {
      list = [];
      this.traces.set(node.traceId, list);
    }
    list.push(node);
    this.size++;
    const evicted: TraceGroup[] = [];
    // Map iteration order is insertion order, so the first entries are the oldest traces.
    while (this.size > this.maxNodes && this.traces.size > 1) {
      const first = this.traces.entries().next().value;
      if (!first) break;
      const [traceId, nodes] = first;
      this.traces.delete(traceId);
      this.size -= nodes.length;
      this.evictedTraces++;
      evicted.push({ traceId, nodes });
    }
    return evicted;
  }

  /** Every waiting trace, oldest first; empties the buffer. */
  drain(): TraceGroup[] {
    const out: TraceGroup[] = [];
    for (const [traceId, nodes] of this.traces) out.push({ traceId, nodes });
    this.traces.clear();
    this.size = 0;
    return out;
  }

  get pendingNodes(): number {
    return this.size;
  }
}
