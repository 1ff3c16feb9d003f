import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../lib/core/errors.js';
import type { SourceLocation, SpanNode } from '../../../lib/core/model.js';
import { decodeXRayRecord } from '../../../lib/core/xray/decode.js';
import {
  type DocumentContext,
  LazyPointer,
  NodeLocation,
  parseSegmentDocument,
} from '../../../lib/core/xray/document.js';
import { scanSegmentDocument } from '../../../lib/core/xray/scan.js';
import { generateTraces } from '../../../lib/demo/index.js';
import { Random } from '../../../lib/demo/random.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const fixtures = path.resolve(repoRoot, '..', 'shared', 'fixtures');
const TRACE = '1-581cf771-a006649127e371903a2de979';

type Outcome = 'accepted' | 'fallback' | 'rejected';

/** Everything observable about a node, locations and annotation order included. */
function normalize(node: SpanNode, ctx: DocumentContext): unknown {
  const loc = node.location;
  return {
    ...node,
    keys: Object.keys(node),
    annotations:
      node.annotations === null
        ? null
        : {
            nullProto: Object.getPrototypeOf(node.annotations) === null,
            entries: Object.entries(node.annotations),
          },
    children: node.children.map((c) => normalize(c, ctx)),
    location: {
      isContextLocation: loc === ctx.location,
      isNodeLocation: loc instanceof NodeLocation,
      pointer: loc.pointer,
      json: JSON.parse(JSON.stringify(loc)) as unknown,
    },
  };
}

const REJECTED = Symbol('rejected');

/** What `decodeDocument` did before the scanner: `JSON.parse`, then `parseSegmentDocument`. */
function slowPath(text: string, ctx: DocumentContext): SpanNode | typeof REJECTED {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) return REJECTED;
    throw err;
  }
  try {
    return parseSegmentDocument(value, ctx);
  } catch (err) {
    if (err instanceof ValidationError) return REJECTED;
    throw err;
  }
}

/** The differential property: the scanner is null, or equal to the slow path; null whenever it rejects. */
function compare(text: string, ctx: DocumentContext): Outcome {
  const slow = slowPath(text, ctx);
  const fast = scanSegmentDocument(text, ctx);
  if (slow === REJECTED) {
    expect(fast, `accepted a document the slow path rejects: ${text.slice(0, 300)}`).toBeNull();
    return 'rejected';
  }
  if (fast === null) return 'fallback';
  expect(normalize(fast, ctx), text.slice(0, 300)).toEqual(normalize(slow, ctx));
  return 'accepted';
}

const base: SourceLocation = { source: 'traces.json', line: 3 };

/** The contexts `decodeDocument` builds: a plain pointer, a lazy one, with and without a trace Id. */
function contexts(expected: string | undefined): DocumentContext[] {
  const lazy = new LazyPointer(new LazyPointer('', '.', 'Traces', 2), '.', 'Segments', 1);
  const at = new LazyPointer(lazy, '.', 'Document', -1);
  const out: DocumentContext[] = [
    { location: { source: 'segment.json' } },
    { location: { ...base, pointer: 'TraceSegmentDocuments[4]' } },
    { location: new NodeLocation(base, at), at },
    { location: new NodeLocation(base, at), at, expectedTraceId: '1-00000000-000000000000000000000000' },
  ];
  if (expected !== undefined)
    out.push({ location: new NodeLocation(base, at), at, expectedTraceId: expected });
  return out;
}

/** Runs every context on a text; the outcome of the first (no expected trace Id). */
function compareAll(text: string): Outcome {
  const first = compare(text, { location: { source: 'segment.json' } });
  const m = /"trace_id"\s*:\s*"([^"\\]*)"/.exec(text);
  for (const ctx of contexts(m?.[1]?.toLowerCase()).slice(1)) compare(text, ctx);
  return first;
}

function walk(value: unknown, visit: (v: unknown) => void): void {
  visit(value);
  if (Array.isArray(value)) for (const v of value) walk(v, visit);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) walk(v, visit);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = path.join(dir, f);
      if (statSync(p).isDirectory()) return filesUnder(p);
      return /\.jsonl?$/.test(f) ? [p] : [];
    });
}

/** Every candidate text of a fixture file: Document strings, every object and array re-serialized, the raw text and lines. */
function textsOf(file: string): string[] {
  const raw = readFileSync(file, 'utf8');
  const texts = [raw, ...raw.split('\n').filter((l) => l.trim() !== '')];
  const values: unknown[] = [];
  try {
    values.push(JSON.parse(raw));
  } catch {
    for (const line of raw.split('\n')) {
      try {
        values.push(JSON.parse(line));
      } catch {
        // Not JSON: the raw text and lines above still go through both paths.
      }
    }
  }
  for (const value of values) {
    walk(value, (v) => {
      if (typeof v === 'string' && v.trimStart().startsWith('{')) texts.push(v);
      else if (v !== null && typeof v === 'object') texts.push(JSON.stringify(v), JSON.stringify(v, null, 2));
    });
  }
  return texts;
}

function demoDocuments(): string[] {
  const docs: string[] = [];
  for (const trace of generateTraces({
    seed: 11,
    hours: 0.2,
    inProgressFraction: 0.05,
    brokenDocuments: 6,
  })) {
    for (const s of trace.segments) docs.push(typeof s === 'string' ? s : JSON.stringify(s));
  }
  return docs;
}

describe('scanSegmentDocument against JSON.parse + parseSegmentDocument', () => {
  it('agrees on every document of the public X-Ray fixtures, valid and invalid', () => {
    const outcomes: Record<Outcome, number> = { accepted: 0, fallback: 0, rejected: 0 };
    const fallbacks: string[] = [];
    for (const file of filesUnder(path.join(fixtures, 'xray-public'))) {
      for (const text of textsOf(file)) {
        const outcome = compareAll(text);
        outcomes[outcome]++;
        if (outcome === 'fallback') fallbacks.push(`${path.basename(file)}: ${text.slice(0, 120)}`);
      }
    }
    // Both kinds were really exercised.
    expect(outcomes.accepted).toBeGreaterThan(100);
    expect(outcomes.rejected).toBeGreaterThan(100);
    // Valid fixture documents fall back only for what the scanner leaves to the slow path on purpose.
    expect(fallbacks).toEqual([]);
  });

  it('agrees on the OpenTelemetry fixtures (none of which is a segment document)', () => {
    for (const file of filesUnder(path.join(fixtures, 'otel-public'))) {
      for (const text of textsOf(file)) expect(compareAll(text)).not.toBe('accepted');
    }
  });

  it('reads the demo traffic itself, not through the fallback', () => {
    const outcomes: Record<Outcome, number> = { accepted: 0, fallback: 0, rejected: 0 };
    for (const text of demoDocuments()) outcomes[compareAll(text)]++;
    expect(outcomes.accepted).toBeGreaterThan(1000);
    // The demo's broken documents.
    expect(outcomes.rejected).toBeGreaterThan(0);
    expect(outcomes.accepted / (outcomes.accepted + outcomes.fallback)).toBeGreaterThanOrEqual(0.99);
  });

  it('gives decodeXRayRecord the same nodes and rejections for Document strings as for Document objects', () => {
    const traces = [
      ...generateTraces({ seed: 5, hours: 0.05, inProgressFraction: 0.05, brokenDocuments: 4 }),
    ];
    // Documents as objects always take the slow path; as strings, the scanner when it can.
    const asObjects = traces.map((t) => ({
      Id: t.traceId,
      Segments: t.segments.map((d) => ({ Document: d })),
    }));
    const asText = traces.map((t) => ({
      Id: t.traceId,
      Segments: t.segments.map((d) => ({ Document: typeof d === 'string' ? d : JSON.stringify(d) })),
    }));
    const slow = decodeXRayRecord({ value: { Traces: asObjects }, location: base });
    const fast = decodeXRayRecord({ value: { Traces: asText }, location: base });
    if (!slow || !fast) throw new Error('expected X-Ray records');
    const ctx = { location: base };
    const nodes = (r: typeof slow) =>
      r.traces.map((t) => ({ traceId: t.traceId, nodes: t.nodes.map((n) => normalize(n, ctx)) }));
    expect(nodes(fast)).toEqual(nodes(slow));
    expect(fast.traces.length).toBeGreaterThan(50);
    const reasons = (r: typeof slow) => r.rejections.map((x) => ({ location: x.location, reason: x.reason }));
    expect(reasons(fast)).toEqual(reasons(slow));
    expect(fast.rejections.length).toBeGreaterThan(0);
  });
});

describe('scanSegmentDocument on edge cases', () => {
  const doc = (extra: string) =>
    `{"name":"api","id":"70de5b6f19ff9a0a","trace_id":"${TRACE}","start_time":1478293361.271,"end_time":1478293361.449${extra}}`;
  const ctx: DocumentContext = { location: { source: 'segment.json' } };

  it('accepts the plain case and builds the node', () => {
    const node = scanSegmentDocument(doc(''), ctx);
    expect(node).not.toBeNull();
    expect(node?.startMs).toBe(1478293361271);
    expect(node?.endMs).toBe(1478293361449);
    expect(node?.location).toBe(ctx.location);
  });

  const cases: [string, string][] = [
    ['a duplicate key', doc(',"name":"api"')],
    ['a duplicate key inside http', doc(',"http":{"response":{"status":200,"status":500}}')],
    ['a duplicate annotation', doc(',"annotations":{"a":"1","a":"2"}')],
    ['an escaped key', doc(',"n\\u0061mespace":"aws"')],
    ['trailing text', `${doc('')} x`],
    ['a trailing comma', doc(',')],
    ['a bad escape', doc(',"metadata":{"a":"\\x"}')],
    ['a control character in a skipped string', doc(',"metadata":{"a":"\u0001"}')],
    ['a leading zero', doc(',"metadata":{"a":01}')],
    ['a number overflowing to Infinity', doc(',"annotations":{"a":1e400}')],
    [
      'an embedded subsegment with another trace',
      doc(`,"subsegments":[${doc('').replace('de979', 'de970')}]`),
    ],
    ['a subsegment without parent_id', doc(',"type":"subsegment"')],
    ['a null end_time', doc('').replace('1478293361.449', 'null')],
    ['a non-string table_name before an empty one', doc(',"aws":{"table_name":"","bucket_name":7}')],
    // Valid, but read as bytes only when every character is ASCII.
    ['a non-ASCII character', doc(',"origin":"caf\u00e9 \u{1f600}"')],
  ];
  it.each(cases)('leaves %s to the slow path', (_what, text) => {
    expect(scanSegmentDocument(text, ctx)).toBeNull();
    compareAll(text);
  });

  const accepted: [string, string][] = [
    [
      'escapes in values',
      doc(',"origin":"a\\u00e9\\"\\/\\n\\ud83d\\ude00","annotations":{"k\\u0041":"\\t"}'),
    ],
    ['whitespace everywhere', ` \n\t${doc(' , "namespace" :\r\n "remote" ').replace(/,/g, ' ,\n ')}\n`],
    ['numbers in exponent form', doc(',"http":{"response":{"status":2.0e2,"content_length":-1E+3}}')],
    ['a non-string resource after a found one', doc(',"aws":{"table_name":"t","bucket_name":7}')],
    [
      'numbers in annotations',
      doc(',"annotations":{"a":-0,"b":1e21,"c":0.1,"d":123456789012345678901,"e":5e-324}'),
    ],
    ['an integer-like annotation key', doc(',"annotations":{"b":"1","2":"x","__proto__":"p"}')],
    [
      'children before the fields they inherit',
      `{"subsegments":[{"name":"c","id":"0000000000000002","start_time":1478293361.3,"end_time":1478293361.4,"trace_id":"${TRACE.toUpperCase()}"}],"name":"api","id":"70DE5B6F19FF9A0A","trace_id":"${TRACE}","start_time":1478293361.271,"end_time":1478293361.449,"origin":"o","service":{"version":"1"}}`,
    ],
  ];
  it.each(accepted)('reads %s exactly', (_what, text) => {
    expect(compareAll(text)).toBe('accepted');
  });

  it('converts numbers exactly as JSON.parse does', () => {
    const forms = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => d.toExponential()),
      fc
        .tuple(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.integer({ min: -40, max: 40 }), fc.boolean())
        .map(([m, e, neg]) => `${neg ? '-' : ''}${m}e${e}`),
      fc.tuple(fc.nat(), fc.stringMatching(/^[0-9]{1,19}$/)).map(([i, f]) => `${i}.${f}`),
    );
    fc.assert(
      fc.property(forms, (n) => {
        const text = doc(`,"annotations":{"n":${n}}`);
        const node = scanSegmentDocument(text, ctx);
        expect(node?.annotations?.n).toBe(String(JSON.parse(n)));
      }),
      { numRuns: 2000 },
    );
  });
});

/** JSON text of a value with random whitespace, escapes, number forms and duplicate keys. */
function serialize(
  value: unknown,
  rnd: Random,
  p: { ws: number; esc: number; num: number; dup: number },
): string {
  const space = () => (rnd.next() < p.ws ? [' ', '\n', '\t', '\r\n  '][rnd.int(0, 3)] : '');
  const str = (s: string): string => {
    let out = '"';
    for (const ch of s) {
      const code = ch.codePointAt(0) as number;
      if (ch === '"' || ch === '\\' || code < 0x20 || rnd.next() < p.esc) {
        const short: Record<string, string> = {
          '"': '\\"',
          '\\': '\\\\',
          '/': '\\/',
          '\n': '\\n',
          '\t': '\\t',
        };
        const s2 = short[ch];
        if (s2 !== undefined && rnd.next() < 0.5) out += s2;
        else
          for (let i = 0; i < ch.length; i++) {
            const hex = ch.charCodeAt(i).toString(16).padStart(4, '0');
            out += `\\u${rnd.next() < 0.5 ? hex : hex.toUpperCase()}`;
          }
      } else out += ch;
    }
    return `${out}"`;
  };
  const num = (n: number): string => {
    if (!Number.isFinite(n)) return String(rnd.int(1, 9));
    if (rnd.next() >= p.num) return Object.is(n, -0) ? '-0' : JSON.stringify(n);
    const [mant, exp = '0'] = n.toExponential().split('e');
    const digits = (mant as string).replace('.', '').replace('-', '');
    const e = Number(exp) - (digits.length - 1);
    const sign = n < 0 ? '-' : '';
    switch (rnd.int(0, 2)) {
      case 0:
        return `${sign}${digits}e${e}`;
      case 1:
        return n.toExponential().replace('e', 'E');
      default:
        return `${sign}0.${digits}e${rnd.next() < 0.5 ? '+' : ''}${Number(exp) + 1}`;
    }
  };
  const go = (v: unknown): string => {
    if (v === null) return 'null';
    if (typeof v === 'boolean') return String(v);
    if (typeof v === 'number') return num(v);
    if (typeof v === 'string') return str(v);
    if (Array.isArray(v)) return `[${space()}${v.map((x) => go(x)).join(`${space()},${space()}`)}${space()}]`;
    const members = Object.entries(v as Record<string, unknown>).map(
      ([k, x]) => `${str(k)}${space()}:${space()}${go(x)}`,
    );
    if (members.length > 0 && rnd.next() < p.dup)
      members.splice(rnd.int(0, members.length), 0, members[rnd.int(0, members.length - 1)] as string);
    return `{${space()}${members.join(`${space()},${space()}`)}${space()}}`;
  };
  return `${space()}${go(value)}${space()}`;
}

/** Every object inside a value (the value itself included), to pick one to mutate. */
function objectsIn(value: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  walk(value, (v) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(v as Record<string, unknown>);
  });
  return out;
}

const FIELDS = [
  'name',
  'id',
  'trace_id',
  'parent_id',
  'type',
  'start_time',
  'end_time',
  'in_progress',
  'error',
  'fault',
  'throttle',
  'inferred',
  'namespace',
  'origin',
  'http',
  'request',
  'response',
  'method',
  'url',
  'status',
  'content_length',
  'aws',
  'operation',
  'table_name',
  'bucket_name',
  'queue_url',
  'topic_arn',
  'function_name',
  'resource_names',
  'sql',
  'database_type',
  'cause',
  'service',
  'version',
  'annotations',
  'metadata',
  'subsegments',
  '__proto__',
  'user',
];

const interesting = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    '',
    'subsegment',
    'segment',
    'aws',
    'remote',
    'local',
    'x',
    0,
    -0,
    1.5,
    2e2,
    1e21,
    1478293361.271,
    1478293361271,
    4102444800.5,
    TRACE,
    TRACE.toUpperCase(),
    '1-581cf771-a006649127e371903a2de97',
    '70de5b6f19ff9a0a',
    '70DE5B6F19FF9A0A',
    '0e58d2918e9038e8',
    'abcdefABCDEF0123',
    'abcdefABCDEF012!',
    {},
    [],
    [''],
    ['t'],
    'jdbc:postgresql://h/db',
    'no scheme',
    'https://sqs.us-east-1.amazonaws.com/1/q/',
    'x'.repeat(201),
    { version: '9' },
    { a: 1, b: 'x', c: true },
    { a: null },
    { a: {} },
  ),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

const mutation = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), key: fc.constantFrom(...FIELDS) }),
  fc.record({
    op: fc.constant('set' as const),
    at: fc.nat(),
    key: fc.constantFrom(...FIELDS),
    value: interesting,
  }),
  fc.record({ op: fc.constant('child' as const), at: fc.nat(), value: interesting }),
);

/** Characters a text edit puts in: JSON structure, number parts, escapes, controls and non-ASCII. */
const EDIT_CHARS = [
  '"',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '\\',
  '0',
  '9',
  '-',
  '.',
  'e',
  'E',
  '+',
  ' ',
  '\n',
  'n',
  't',
  'u',
  'a',
  'x',
  '\u0000',
  '\u00e9',
  '\u2028',
  '\ud83d',
];

const textEdit = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({
    op: fc.constant('flip' as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    ch: fc.constantFrom(...EDIT_CHARS),
  }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    ch: fc.constantFrom(...EDIT_CHARS),
  }),
);

describe('scanSegmentDocument on generated and mutated documents', () => {
  const seeds = demoDocuments()
    .slice(0, 400)
    .flatMap((t) => {
      try {
        return [JSON.parse(t) as unknown];
      } catch {
        return [];
      }
    });
  for (const file of filesUnder(path.join(fixtures, 'xray-public'))) {
    for (const text of textsOf(file)) {
      try {
        const v: unknown = JSON.parse(text);
        // Valid documents only, so that few mutations are needed to reach each edge.
        if (slowPath(text, { location: base }) !== REJECTED) seeds.push(v);
      } catch {
        // Only JSON values can be mutated structurally.
      }
    }
  }

  const serialization = fc.record({
    seed: fc.integer(),
    ws: fc.constantFrom(0, 0.1, 0.5),
    esc: fc.constantFrom(0, 0.02, 0.3),
    num: fc.constantFrom(0, 0.5, 1),
    dup: fc.constantFrom(0, 0, 0.05),
  });

  it('never disagrees with the slow path', () => {
    const outcomes: Record<Outcome, number> = { accepted: 0, fallback: 0, rejected: 0 };
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.oneof(
          { arbitrary: fc.constant([]), weight: 1 },
          { arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }), weight: 2 },
        ),
        serialization,
        fc.oneof(
          { arbitrary: fc.constant([]), weight: 2 },
          { arbitrary: fc.array(textEdit, { minLength: 1, maxLength: 2 }), weight: 1 },
        ),
        (seed, mutations, ser, edits) => {
          const value = structuredClone(seed);
          for (const m of mutations) {
            // A copy: constant values are shared between runs and must not grow into cycles.
            const inserted: unknown = 'value' in m ? structuredClone(m.value) : undefined;
            const objects = objectsIn(value);
            const target = objects[m.at % objects.length] as Record<string, unknown>;
            if (m.op === 'delete') delete target[m.key];
            else if (m.op === 'set')
              Object.defineProperty(target, m.key, {
                value: inserted,
                enumerable: true,
                configurable: true,
                writable: true,
              });
            else {
              const subs = target.subsegments;
              if (Array.isArray(subs)) subs.push(inserted);
              else target.subsegments = [inserted];
            }
          }
          const { seed: s, ...p } = ser;
          let text = serialize(value, new Random(s), p);
          for (const e of edits) {
            const i = Math.floor(e.at * text.length);
            if (e.op === 'truncate') text = text.slice(0, i);
            else if (e.op === 'flip') text = text.slice(0, i) + e.ch + text.slice(i + 1);
            else text = text.slice(0, i) + e.ch + text.slice(i);
          }
          outcomes[compareAll(text)]++;
        },
      ),
      { numRuns: 4000 },
    );
    // The generator reaches all three outcomes, so the property is not vacuous.
    expect(outcomes.accepted).toBeGreaterThan(200);
    expect(outcomes.rejected).toBeGreaterThan(200);
    expect(outcomes.fallback).toBeGreaterThan(10);
  });
});
