/**
 * Independent checks of X-Ray document shape for the demo tests: written from the X-Ray segment
 * document reference, not from the generator, so a generator bug shows up as a problem here.
 */

export type Doc = Record<string, unknown>;

export const HEX16 = /^[0-9a-f]{16}$/;
export const TRACE_ID = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/;

export interface TraceCheck {
  problems: string[];
  completeSpans: number;
  inProgressSpans: number;
}

interface Interval {
  start: number;
  end: number | null;
  where: string;
}

function isObject(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Serialises with at most 6 decimals (JSON writes the shortest form), i.e. microsecond precision. */
function microsecondPrecise(seconds: number): boolean {
  const text = JSON.stringify(seconds);
  return /^\d+(\.\d{1,6})?$/.test(text);
}

/**
 * Checks one trace's documents (already parsed): ids, trace id, times, nesting inside parents,
 * and with `wholeTrace` one root and segments hanging under subsegments of the same trace;
 * counts complete and in-progress spans.
 */
export function checkTrace(traceId: string, docs: readonly Doc[], wholeTrace = true): TraceCheck {
  const problems: string[] = [];
  const intervals = new Map<string, Interval>();
  const seen = new Set<string>();
  let complete = 0;
  let inProgress = 0;
  if (!TRACE_ID.test(traceId)) problems.push(`trace id ${traceId} is not 1-<8 hex>-<24 hex>`);

  const visit = (node: Doc, where: string, parent: Interval | null): void => {
    const id = node.id;
    if (typeof id !== 'string' || !HEX16.test(id))
      problems.push(`${where}: id ${String(id)} is not 16 hex digits`);
    else if (seen.has(id)) problems.push(`${where}: id ${id} used twice`);
    else seen.add(id);
    if (typeof node.name !== 'string' || node.name === '') problems.push(`${where}: no name`);
    const start = node.start_time;
    const end = node.end_time;
    if (typeof start !== 'number') {
      problems.push(`${where}: start_time missing`);
      return;
    }
    if (!microsecondPrecise(start)) problems.push(`${where}: start_time ${start} finer than a microsecond`);
    let interval: Interval;
    if (node.in_progress === true) {
      inProgress += 1;
      if (end !== undefined) problems.push(`${where}: in progress but has end_time`);
      interval = { start, end: null, where };
    } else {
      complete += 1;
      if (typeof end !== 'number') {
        problems.push(`${where}: neither end_time nor in_progress`);
        return;
      }
      if (!microsecondPrecise(end)) problems.push(`${where}: end_time ${end} finer than a microsecond`);
      if (end < start) problems.push(`${where}: end_time before start_time`);
      interval = { start, end, where };
    }
    if (parent !== null) insideOf(interval, parent);
    if (typeof id === 'string') intervals.set(id, interval);
    const subs = node.subsegments;
    if (subs !== undefined) {
      if (!Array.isArray(subs)) problems.push(`${where}: subsegments is not an array`);
      else
        subs.forEach((sub, i) => {
          if (isObject(sub)) visit(sub, `${where}.subsegments[${i}]`, interval);
        });
    }
  };

  const insideOf = (child: Interval, parent: Interval): void => {
    if (child.start < parent.start) problems.push(`${child.where} starts before its parent ${parent.where}`);
    if (parent.end !== null) {
      if (child.end === null)
        problems.push(`${child.where} is in progress inside the complete ${parent.where}`);
      else if (child.end > parent.end) problems.push(`${child.where} ends after its parent ${parent.where}`);
    }
  };

  let roots = 0;
  docs.forEach((doc, i) => {
    if (doc.trace_id !== traceId)
      problems.push(`Segments[${i}]: trace_id ${String(doc.trace_id)} is not ${traceId}`);
    if (doc.parent_id === undefined) roots += 1;
    visit(doc, `Segments[${i}](${String(doc.name)})`, null);
  });
  if (!wholeTrace) return { problems, completeSpans: complete, inProgressSpans: inProgress };
  if (roots !== 1) problems.push(`trace has ${roots} root segments, expected 1`);
  docs.forEach((doc, i) => {
    const parentId = doc.parent_id;
    if (parentId === undefined) return;
    const parent = typeof parentId === 'string' ? intervals.get(parentId) : undefined;
    const own = typeof doc.id === 'string' ? intervals.get(doc.id) : undefined;
    if (parent === undefined) problems.push(`Segments[${i}]: parent_id ${String(parentId)} not in the trace`);
    else if (own !== undefined) insideOf(own, parent);
  });
  return { problems, completeSpans: complete, inProgressSpans: inProgress };
}

/** Every span of a document, depth first, with the name of the segment that holds it. */
export function* spansOf(doc: Doc): Generator<{ span: Doc; segment: Doc; depth: number }> {
  const walk = function* (node: Doc, depth: number): Generator<{ span: Doc; segment: Doc; depth: number }> {
    yield { span: node, segment: doc, depth };
    const subs = node.subsegments;
    if (Array.isArray(subs)) for (const sub of subs) if (isObject(sub)) yield* walk(sub, depth + 1);
  };
  yield* walk(doc, 0);
}

/** Duration of a complete span in ms. */
export function durationMs(span: Doc): number {
  return ((span.end_time as number) - (span.start_time as number)) * 1000;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Why a document would be rejected, or null when it passes the basic checks. */
export function brokenReason(text: string): string | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (!isObject(value)) return 'not an object';
  const check = checkTrace(typeof value.trace_id === 'string' ? value.trace_id : '', [value], false);
  return check.problems.length > 0 ? check.problems.join('; ') : null;
}

export { isObject };
