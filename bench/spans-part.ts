/**
 * Micro-benchmark of one `spans` part: the Arrow build and the Parquet encode of 50,000 span rows
 * (the pipeline's default part size), taken from the bench corpus as the pipeline flattens them.
 *
 *   node --import tsx bench/spans-part.ts [--parts 3] [--reps 5] [--rows 50000] [--corpus <dir>] [--builder]
 *
 * `--builder` builds each part with ArrowTableBuilder (rows added one by one) instead of
 * buildArrowTable.
 *
 * Prints per-part medians (CPU ms of this process; on one core CPU time equals wall time minus
 * waits), bytes per span and a SHA-256 of each part's bytes, so two builds can be compared for
 * speed and for identical output.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FileSource } from '../lib/adapters/file-source.js';
import { encodeArrowTable } from '../lib/adapters/parquet.js';
import { ArrowTableBuilder, buildArrowTable } from '../lib/core/arrow.js';
import { decodeRecord } from '../lib/core/decode.js';
import { flattenTrace, linkTrace } from '../lib/core/flatten.js';
import type { SpanRow } from '../lib/core/model.js';
import { SPANS } from '../lib/core/tables.js';

const WINDOW_MS = 300_000;
const OUT = path.join(import.meta.dirname, 'out');

const { values: flags } = parseArgs({
  options: {
    parts: { type: 'string', default: '3' },
    reps: { type: 'string', default: '5' },
    rows: { type: 'string', default: '50000' },
    corpus: { type: 'string' },
    builder: { type: 'boolean', default: false },
  },
});
const parts = Number(flags.parts);
const reps = Number(flags.reps);
const partRows = Number(flags.rows);

function defaultCorpus(): string {
  const dirs = readdirSync(OUT).filter((d) => /^corpus-v\d+-500000-/.test(d));
  const dir = dirs.sort().at(-1);
  if (!dir) throw new Error('no 0.5 M corpus under bench/out: run `npm run bench -- --quick` once');
  return path.join(OUT, dir, 'traces');
}

async function loadParts(dir: string): Promise<SpanRow[][]> {
  const out: SpanRow[][] = [];
  let buf: SpanRow[] = [];
  for await (const event of new FileSource(dir).read()) {
    if (event.type !== 'record') continue;
    for (const trace of decodeRecord(event.record).traces) {
      const linked = linkTrace(trace.traceId, trace.nodes);
      for (const row of flattenTrace(trace.traceId, linked.roots, WINDOW_MS).spans) buf.push(row);
      if (buf.length >= partRows) {
        out.push(buf.slice(0, partRows));
        buf = [];
        if (out.length === parts) return out;
      }
    }
  }
  if (buf.length) out.push(buf);
  return out;
}

function cpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const data = await loadParts(flags.corpus ?? defaultCorpus());
const builder = new ArrowTableBuilder(SPANS, partRows);
const build = (rows: readonly SpanRow[]) => {
  if (!flags.builder) return buildArrowTable(SPANS, rows);
  for (const row of rows) builder.add(row);
  return builder.finish();
};
const arrowMs: number[] = [];
const parquetMs: number[] = [];
let bytes = 0;
let rows = 0;
const hashes: string[] = [];
// One untimed round first: the wasm module loads and V8 optimises the builders.
for (const part of data) encodeArrowTable(build(part), 'spans');
for (let r = 0; r < reps; r++) {
  for (const [i, part] of data.entries()) {
    const a = cpu();
    const table = build(part);
    const b = cpu();
    const out = encodeArrowTable(table, 'spans');
    const c = cpu();
    arrowMs.push(b - a);
    if (process.env.TRACE_MS) process.stderr.write(`${(b - a).toFixed(1)} `);
    parquetMs.push(c - b);
    if (r === 0) {
      bytes += out.byteLength;
      rows += part.length;
      hashes[i] = createHash('sha256').update(out).digest('hex').slice(0, 16);
    }
  }
}
const result = {
  builder: flags.builder,
  parts: data.length,
  rowsPerPart: data[0]?.length ?? 0,
  reps,
  arrowMs: median(arrowMs),
  parquetMs: median(parquetMs),
  totalMs: median(arrowMs) + median(parquetMs),
  usPerRow: ((median(arrowMs) + median(parquetMs)) * 1000) / (data[0]?.length ?? 1),
  bytesPerSpan: bytes / rows,
  hashes,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
