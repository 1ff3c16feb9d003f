/**
 * Several sources read as one, one after the other: the collector reads the X-Ray API and, where
 * Transaction Search delivers spans to the lake bucket, the raw `aws/spans` objects for the same
 * window. A trace ID seen in both is kept once: the pipeline drops repeated trace IDs.
 */
import type { SourceEvent, SourceStats, TraceSource } from '../core/ports.js';

export class MultiSource implements TraceSource {
  private readonly sources: readonly TraceSource[];

  constructor(sources: readonly TraceSource[]) {
    this.sources = [...sources];
  }

  describe(): string {
    return this.sources.map((s) => s.describe()).join(' + ');
  }

  /** Each source's counters, prefixed with its position (`0.traces`, `1.records`). */
  stats(): SourceStats {
    const out: SourceStats = {};
    this.sources.forEach((s, i) => {
      for (const [k, v] of Object.entries(s.stats())) out[`${i}.${k}`] = v;
    });
    return out;
  }

  async *read(range?: { fromMs: number; toMs: number }): AsyncIterable<SourceEvent> {
    for (const source of this.sources) yield* source.read(range);
  }
}
