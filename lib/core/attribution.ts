/**
 * Root cause or consequence? When a DynamoDB query gets slower, so does every span that waits for
 * it: the Lambda invocation, the function and service segments, the API Gateway stage. All of them
 * are real findings, but only one is the thing to fix. This module learns which keys call which
 * from the traces themselves, then marks a finding as explained by a finding further down the call
 * tree that accounts for most of its increase.
 */
import type { RegressionRow } from './model.js';

/**
 * Which keys call which, learned from span parent links (subsegment → its parent, and a
 * downstream segment → the subsegment that called it). Keys of inferred segments are recorded
 * apart: they are the callee's side of a call already measured by the caller's subsegment.
 *
 * @example
 * const g = new KeyGraph();
 * g.addEdge('api > Invocation', 'api > DynamoDB Query orders');
 * g.descendants('api > Invocation'); // Set { 'api > DynamoDB Query orders' }
 */
export class KeyGraph {
  private readonly children = new Map<string, Set<string>>();
  private readonly parents = new Map<string, Set<string>>();
  private readonly inferredKeys = new Set<string>();

  addEdge(parentKey: string, childKey: string): void {
    if (parentKey === childKey) return;
    let c = this.children.get(parentKey);
    if (!c) {
      c = new Set();
      this.children.set(parentKey, c);
    }
    c.add(childKey);
    let p = this.parents.get(childKey);
    if (!p) {
      p = new Set();
      this.parents.set(childKey, p);
    }
    p.add(parentKey);
  }

  markInferred(key: string): void {
    this.inferredKeys.add(key);
  }

  isInferred(key: string): boolean {
    return this.inferredKeys.has(key);
  }

  /** Every key reachable below `key` (not `key` itself), however deep; cycles are harmless. */
  descendants(key: string): Set<string> {
    const out = new Set<string>();
    const stack = [...(this.children.get(key) ?? [])];
    while (stack.length) {
      const k = stack.pop()!;
      if (out.has(k) || k === key) continue;
      out.add(k);
      for (const c of this.children.get(k) ?? []) stack.push(c);
    }
    return out;
  }

  /** The direct callers of `key`. */
  callers(key: string): Set<string> {
    return new Set(this.parents.get(key) ?? []);
  }

  get size(): number {
    return this.children.size;
  }
}

/** Share of a finding's absolute increase a descendant must account for to explain it. */
export const EXPLAINS_SHARE = 0.5;

/**
 * Sets `explained_by` on every finding that a finding further down the call tree accounts for:
 * same window, same statistic, a descendant key whose increase (current − baseline, in ms) is at
 * least {@link EXPLAINS_SHARE} of this one's. Chains are followed to their end, so a consequence
 * names the root cause itself. A finding on an inferred segment is explained by a finding on one
 * of its callers in the same window, of the same statistic if there is one, else of any (the same
 * call seen from the caller's side), and never explains another.
 * Findings are returned in the same order, copied with `explained_by` set (null for root causes).
 *
 * @example
 * // Invocation p50 +8 ms, DynamoDB Query (called inside it) p50 +11 ms, same window:
 * attributeFindings([invocation, query], graph)[0].explained_by === 'api > DynamoDB Query orders'
 */
export function attributeFindings(findings: readonly RegressionRow[], graph: KeyGraph): RegressionRow[] {
  const groups = new Map<string, RegressionRow[]>();
  for (const f of findings) {
    const id = `${f.window_start}|${f.statistic}`;
    const g = groups.get(id);
    if (g) g.push(f);
    else groups.set(id, [f]);
  }
  // An inferred segment is the callee's view of calls its callers measured: any finding on a caller
  // in the same window explains it, whatever the statistic (the tails of the two views differ).
  const byWindow = new Map<number, RegressionRow[]>();
  for (const f of findings) {
    const list = byWindow.get(f.window_start);
    if (list) list.push(f);
    else byWindow.set(f.window_start, [f]);
  }
  const direct = new Map<RegressionRow, RegressionRow>();
  for (const group of groups.values()) {
    const byKey = new Map(group.map((f) => [f.key, f]));
    for (const f of group) {
      const delta = f.current_ms - f.baseline_ms;
      let best: RegressionRow | undefined;
      if (graph.isInferred(f.key)) {
        const callers = graph.callers(f.key);
        for (const c of byWindow.get(f.window_start) ?? []) {
          if (!callers.has(c.key) || graph.isInferred(c.key)) continue;
          const better =
            !best ||
            (c.statistic === f.statistic) > (best.statistic === f.statistic) ||
            ((c.statistic === f.statistic) === (best.statistic === f.statistic) && gain(c) > gain(best));
          if (better) best = c;
        }
      } else {
        for (const d of graph.descendants(f.key)) {
          const c = byKey.get(d);
          if (!c || graph.isInferred(d)) continue;
          if (gain(c) >= EXPLAINS_SHARE * delta && (!best || gain(c) > gain(best))) best = c;
        }
      }
      if (best) direct.set(f, best);
    }
  }
  return findings.map((f) => {
    let root = direct.get(f);
    const seen = new Set<RegressionRow>([f]);
    while (root && direct.has(root) && !seen.has(root)) {
      seen.add(root);
      root = direct.get(root);
    }
    return { ...f, explained_by: root && root !== f ? root.key : null };
  });
}

function gain(f: RegressionRow): number {
  return f.current_ms - f.baseline_ms;
}
