/**
 * Linking and flattening of span trees, shared by the X-Ray and OpenTelemetry decoders: nodes of
 * one trace are joined by parent id, then every complete node becomes a `spans` row with its
 * self time, and the trace as a whole becomes a `traces` row.
 */
import { type SpanNode, type SpanRow, type TraceRow, windowStart } from './model.js';

type Draft = { -readonly [K in keyof SpanNode]: SpanNode[K] };

/**
 * The roots array `linkTrace` returned last, whose trees hold every id once and no loop, and its
 * length then: flattening exactly that array needs no guard against a node seen twice.
 */
let linkedRoots: readonly SpanNode[] | null = null;
let linkedLength = 0;

function linked(roots: SpanNode[], duplicates: number, orphans: number) {
  linkedRoots = roots;
  linkedLength = roots.length;
  return { roots, duplicates, orphans };
}

/**
 * Joins the nodes of one trace into trees.
 *
 * - A `subsegment` whose `parentId` names another node of the trace (nested ones included) becomes
 *   that node's child. `segment` nodes always stay roots: a downstream segment keeps its
 *   `parentId` for the `parent_id` column but is not a child for self-time purposes.
 * - Duplicate ids: a complete copy replaces an in-progress one (OpenTelemetry `aws/spans` sends an
 *   in-progress copy first), otherwise the first copy wins; every dropped copy is counted, and the
 *   children of a dropped copy are merged into the kept one.
 * - A subsegment whose parent is missing (or whose parent chain loops back to it) is an orphan:
 *   it stays a root and is counted.
 *
 * The input nodes are not modified; the returned trees are copies.
 *
 * @example
 * const { roots, orphans } = linkTrace(traceId, [segment, independentSubsegment]);
 * // roots.length === 1, roots[0].children includes the subsegment, orphans === 0
 */
export function linkTrace(
  _traceId: string,
  nodes: SpanNode[],
): { roots: SpanNode[]; duplicates: number; orphans: number } {
  // The usual trace (unique ids, every document a segment) needs no relinking: its trees are used
  // as they are, which saves a copy of every node.
  // A copy of the list, so that later changes to the caller's array cannot pass for linked roots.
  if (alreadyLinked(nodes)) return linked(nodes.slice(), 0, 0);
  const byId = new Map<string, Draft>();
  let duplicates = 0;

  const register = (node: SpanNode): Draft | null => {
    const existing = byId.get(node.id);
    if (existing) {
      duplicates++;
      if (existing.endMs === null && node.endMs !== null) {
        Object.assign(existing, { ...node, children: existing.children });
      }
      for (const child of node.children) {
        const kept = register(child);
        if (kept) existing.children.push(kept);
      }
      return null;
    }
    const copy: Draft = { ...node, children: [] };
    byId.set(node.id, copy);
    for (const child of node.children) {
      const kept = register(child);
      if (kept) copy.children.push(kept);
    }
    return copy;
  };

  const tops: Draft[] = [];
  for (const node of nodes) {
    const kept = register(node);
    if (kept) tops.push(kept);
  }

  // Every node's top-level tree, to refuse attachments that would close a loop.
  const topOf = new Map<string, Draft>();
  const mark = (node: SpanNode, top: Draft): void => {
    topOf.set(node.id, top);
    for (const child of node.children) mark(child, top);
  };
  for (const top of tops) mark(top, top);
  const attachedUnder = new Map<Draft, Draft>();

  const roots: SpanNode[] = [];
  let orphans = 0;
  for (const top of tops) {
    if (top.kind === 'segment') {
      roots.push(top);
      continue;
    }
    const parent = top.parentId === null ? undefined : byId.get(top.parentId);
    if (!parent || createsLoop(top, parent, topOf, attachedUnder)) {
      roots.push(top);
      orphans++;
      continue;
    }
    parent.children.push(top);
    const parentTop = topOf.get(parent.id);
    if (parentTop) attachedUnder.set(top, parentTop);
  }
  return linked(roots, duplicates, orphans);
}

/** True when every top node is a segment and no id appears twice anywhere in the trees. */
function alreadyLinked(nodes: readonly SpanNode[]): boolean {
  for (const node of nodes) if (node.kind !== 'segment') return false;
  const ids = new Set<string>();
  for (const node of nodes) if (!unique(node, ids)) return false;
  return true;
}

function unique(node: SpanNode, ids: Set<string>): boolean {
  const size = ids.size;
  ids.add(node.id);
  if (ids.size === size) return false;
  const children = node.children;
  for (let i = 0; i < children.length; i++) if (!unique(children[i]!, ids)) return false;
  return true;
}

function createsLoop(
  node: Draft,
  parent: Draft,
  topOf: Map<string, Draft>,
  attachedUnder: Map<Draft, Draft>,
): boolean {
  let current = topOf.get(parent.id);
  const seen = new Set<Draft>();
  while (current && !seen.has(current)) {
    if (current === node) return true;
    seen.add(current);
    current = attachedUnder.get(current);
  }
  return false;
}

/**
 * Turns the linked trees of one trace into `spans` rows and one `traces` row.
 *
 * Self time: `self_ms = duration_ms − |⋃ children|`, where each direct child's `[start, end]` is
 * first clamped to the parent's own interval and overlapping children are counted once, so
 * `0 ≤ self_ms ≤ duration_ms` always holds and `self_ms + |⋃ clamped children| = duration_ms`.
 * In-progress children have no interval and take no time from their parent.
 *
 * In-progress nodes are left out of `spans` and counted in `inProgress`; their complete
 * descendants are still emitted. Every row of the trace gets the window of the trace's earliest
 * start (in-progress nodes included), so a trace never straddles two windows. Rows come out
 * depth-first, roots and children ordered by start time then id.
 *
 * @example
 * const { roots } = linkTrace(traceId, nodes);
 * const { spans, trace, inProgress } = flattenTrace(traceId, roots, 300_000);
 */
export function flattenTrace(
  traceId: string,
  roots: SpanNode[],
  windowMs: number,
): { spans: SpanRow[]; trace: TraceRow | null; inProgress: number } {
  let traceStart = Number.POSITIVE_INFINITY;
  const visitStart = (node: SpanNode, depth: number): void => {
    if (node.startMs < traceStart) traceStart = node.startMs;
    if (depth < 10_000) for (const child of node.children) visitStart(child, depth + 1);
  };
  for (const root of roots) visitStart(root, 0);
  if (!Number.isFinite(traceStart)) return { spans: [], trace: null, inProgress: 0 };
  const window = windowStart(traceStart, windowMs);

  const spans: SpanRow[] = [];
  // Trees that `linkTrace` has just checked cannot repeat a node; others are guarded by id.
  const emitted = roots === linkedRoots && roots.length === linkedLength ? null : new Set<string>();
  linkedRoots = null;
  let inProgress = 0;

  const walk = (
    node: SpanNode,
    segment: SpanNode,
    parentId: string | null,
    path: string,
    depth: number,
  ): void => {
    if (emitted !== null) {
      if (emitted.has(node.id)) return;
      emitted.add(node.id);
    }
    const children = sortedByStart(node.children);
    if (node.endMs === null) {
      inProgress++;
    } else {
      const duration = node.endMs - node.startMs;
      spans.push({
        trace_id: traceId,
        id: node.id,
        parent_id: parentId,
        segment_id: segment.id,
        service: serviceOf(segment),
        origin: segment.origin,
        name: node.name,
        namespace: node.namespace,
        kind: node.kind,
        path,
        depth,
        start_time: node.startMs,
        end_time: node.endMs,
        duration_ms: duration,
        self_ms: selfTime(node.startMs, node.endMs, children),
        http_method: node.httpMethod,
        http_status: node.httpStatus,
        http_url: node.httpUrl,
        aws_operation: node.awsOperation,
        aws_resource: node.awsResource,
        sql_url: node.sqlUrl,
        sql_database_type: node.sqlDatabaseType,
        service_version: node.serviceVersion ?? segment.serviceVersion,
        error: node.error,
        fault: node.fault,
        throttle: node.throttle,
        inferred: node.inferred,
        annotations: node.annotations ? copyRecord(node.annotations) : null,
        window_start: window,
      });
    }
    for (const child of children) walk(child, segment, node.id, `${path} > ${child.name}`, depth + 1);
  };

  const ordered = sortedByStart(roots);
  for (const root of ordered) walk(root, root, root.parentId, root.name, 0);

  if (spans.length === 0) return { spans, trace: null, inProgress };
  return { spans, trace: traceRow(traceId, ordered, spans, inProgress, traceStart, window), inProgress };
}

/**
 * The time a span spends outside its children: its duration minus the measure of the union of
 * the children's intervals, each clamped to `[startMs, endMs]`. In-progress children (no end)
 * count for nothing.
 *
 * @example
 * selfTime(0, 100, [{ startMs: 10, endMs: 40 }, { startMs: 30, endMs: 60 }, { startMs: 90, endMs: 150 }]) === 40
 */
export function selfTime(
  startMs: number,
  endMs: number,
  children: readonly { readonly startMs: number; readonly endMs: number | null }[],
): number {
  const duration = endMs - startMs;
  // Children come sorted by start from the flattener: their clamped intervals are then merged as
  // they come, without building and sorting a list of them.
  let covered = 0;
  let curStart = Number.NaN;
  let curEnd = Number.NaN;
  let lastStart = Number.NEGATIVE_INFINITY;
  for (const child of children) {
    if (child.endMs === null) continue;
    if (child.startMs < lastStart) return selfTimeUnsorted(startMs, endMs, children);
    lastStart = child.startMs;
    const s = Math.max(child.startMs, startMs);
    const e = Math.min(child.endMs, endMs);
    if (!(e > s)) continue;
    if (Number.isNaN(curStart) || s > curEnd) {
      if (!Number.isNaN(curStart)) covered += curEnd - curStart;
      curStart = s;
      curEnd = e;
    } else if (e > curEnd) {
      curEnd = e;
    }
  }
  if (!Number.isNaN(curStart)) covered += curEnd - curStart;
  // Float subtraction can leave a hair below zero or above the duration.
  return Math.min(duration, Math.max(0, duration - covered));
}

function selfTimeUnsorted(
  startMs: number,
  endMs: number,
  children: readonly { readonly startMs: number; readonly endMs: number | null }[],
): number {
  const sorted = children.filter((c) => c.endMs !== null).sort((a, b) => a.startMs - b.startMs);
  return selfTime(startMs, endMs, sorted);
}

function traceRow(
  traceId: string,
  roots: readonly SpanNode[],
  spans: SpanRow[],
  inProgress: number,
  traceStart: number,
  window: number,
): TraceRow {
  const segments = roots.filter((r) => r.kind === 'segment' && !r.inferred);
  const root =
    segments.find((r) => r.parentId === null) ??
    segments[0] ??
    roots.find((r) => r.kind === 'segment') ??
    roots[0];
  let latestEnd = Number.NEGATIVE_INFINITY;
  let hasError = false;
  let hasFault = false;
  let hasThrottle = false;
  const services = new Set<string>();
  let annotations: Record<string, string> | null = null;
  for (const row of spans) {
    if (row.end_time > latestEnd) latestEnd = row.end_time;
    hasError ||= row.error;
    hasFault ||= row.fault;
    hasThrottle ||= row.throttle;
    services.add(row.service);
    const rowAnnotations = row.annotations;
    if (rowAnnotations) {
      annotations ??= Object.create(null) as Record<string, string>;
      // Keys, not entries: no [key, value] pair is allocated per annotation.
      const keys = Object.keys(rowAnnotations);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        if (!Object.hasOwn(annotations, k)) annotations[k] = rowAnnotations[k]!;
      }
    }
  }
  return {
    trace_id: traceId,
    start_time: traceStart,
    duration_ms: latestEnd - traceStart,
    response_time_ms: root && root.endMs !== null ? root.endMs - root.startMs : null,
    root_service: root ? serviceOf(root) : (spans[0]?.service ?? ''),
    http_method: root?.httpMethod ?? null,
    http_url: root?.httpUrl ?? null,
    http_status: root?.httpStatus ?? null,
    has_error: hasError,
    has_fault: hasFault,
    has_throttle: hasThrottle,
    annotations,
    span_count: spans.length,
    service_count: services.size,
    is_partial: inProgress > 0,
    window_start: window,
  };
}

function serviceOf(segment: SpanNode): string {
  return segment.service ?? segment.name;
}

/** The nodes ordered by start then id; the array itself when already so (it is never modified). */
function sortedByStart(nodes: readonly SpanNode[]): readonly SpanNode[] {
  for (let i = 1; i < nodes.length; i++) {
    if (byStart(nodes[i - 1]!, nodes[i]!) > 0) return [...nodes].sort(byStart);
  }
  return nodes;
}

function byStart(a: SpanNode, b: SpanNode): number {
  return a.startMs - b.startMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function copyRecord(record: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  const keys = Object.keys(record);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out[k] = record[k]!;
  }
  return out;
}
