/**
 * `npm run bench`: how fast, how big and how accurate tracelake is, against the `JSON.parse` floor
 * and against DuckDB, on one core.
 *
 *   npm run bench                 # ~2 M spans in one window, 3 runs of everything
 *   npm run bench -- --quick      # ~0.5 M spans, for development
 *   npm run bench -- --runs 5 --spans 1000000 --skip-cold --skip-peer
 *
 * Every measurement runs in a fresh child process, pinned to core 0 with `taskset -c 0` when the
 * command exists (DuckDB's default-threads run is left unpinned on purpose). Results: a table on
 * stdout, `bench/out/results.json` and `bench/out/report.md`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { coldStart } from './cold.js';
import { type CorpusManifest, ensureCorpus, traceDirOf } from './corpus.js';

const REPO = path.resolve(import.meta.dirname, '..');
const OUT = path.join(REPO, 'bench', 'out');

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string', default: '3' },
    spans: { type: 'string' },
    seed: { type: 'string', default: '1' },
    'traces-per-file': { type: 'string', default: '1000' },
    'skip-peer': { type: 'boolean', default: false },
    'skip-cold': { type: 'boolean', default: false },
    'skip-memory': { type: 'boolean', default: false },
    'skip-accuracy': { type: 'boolean', default: false },
  },
});

const runs = Number(flags.runs);
if (!(Number.isInteger(runs) && runs >= 1))
  throw new Error(`--runs must be a whole number >= 1, got ${flags.runs}`);
const SMALL = 500_000;
const spansWanted = Number(flags.spans ?? (flags.quick ? SMALL : 2_000_000));
const seed = Number(flags.seed);
const tracesPerFile = Number(flags['traces-per-file']);

const say = (line: string) => process.stderr.write(`${line}\n`);
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const PIN = hasTaskset ? ['taskset', '-c', '0'] : [];

type Json = Record<string, unknown>;

const MEASURE_BUNDLE = path.join(OUT, 'measure.mjs');

/**
 * measure.ts and the library bundled with esbuild (dependencies left in node_modules), so the
 * children run plain JavaScript as the Lambda bundle does, not code transformed on the fly.
 */
async function bundleMeasure(): Promise<void> {
  await build({
    entryPoints: [path.join(REPO, 'bench', 'measure.ts')],
    outfile: MEASURE_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    logLevel: 'error',
  });
}

/** Runs one task of measure.ts in a fresh process and returns its result. */
function measure(task: string, args: Json, pinned = true): Promise<Json> {
  const argv = [...(pinned ? PIN : []), process.execPath, MEASURE_BUNDLE, task, JSON.stringify(args)];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{"result"')) {
        reject(new Error(`${task} failed (exit ${code}): ${err.slice(-2000)}`));
        return;
      }
      resolve((JSON.parse(line) as { result: Json }).result);
    });
  });
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function num(o: Json, ...keys: string[]): number {
  let v: unknown = o;
  for (const k of keys) v = (v as Json)[k];
  return Number(v);
}

function dirBytes(dir: string, filter: (rel: string) => boolean = () => true): number {
  let total = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    if (filter(path.relative(dir, full))) total += statSync(full).size;
  }
  return total;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const rate = (spans: number, ms: number) => spans / (ms / 1000);

async function main(): Promise<void> {
  const started = Date.now();
  say(
    `tracelake bench: ${fmt(spansWanted)} spans, ${runs} runs, ${hasTaskset ? 'pinned to core 0 (taskset -c 0)' : 'NOT pinned (no taskset)'}`,
  );
  await bundleMeasure();
  const corpus = await ensureCorpus(OUT, { spans: spansWanted, seed, tracesPerFile }, say);
  const small: CorpusManifest | null =
    !flags['skip-memory'] && spansWanted > SMALL
      ? await ensureCorpus(OUT, { spans: SMALL, seed, tracesPerFile }, say)
      : null;
  const traces = traceDirOf(corpus);
  const lakeStats = path.join(OUT, 'lake-stats-only');
  const lakeSpans = path.join(OUT, 'lake-spans');

  const floors: Json[] = [];
  const statsOnly: Json[] = [];
  const aggregateRuns: Json[] = [];
  const withSpans: Json[] = [];
  const stageRuns: Json[] = [];
  const peer1: Json[] = [];
  const peerN: Json[] = [];
  for (let r = 1; r <= runs; r++) {
    say(`run ${r}/${runs}`);
    floors.push(await measure('floor', { traces }));
    say(`  floor ${fmt(num(floors.at(-1)!, 'totalMs'))} ms`);
    statsOnly.push(await measure('e2e', { traces, lake: lakeStats, writeSpans: false }));
    say(`  stats-only ${fmt(num(statsOnly.at(-1)!, 'elapsedMs'))} ms`);
    aggregateRuns.push(await measure('aggregates', { traces }));
    say(`  aggregates only ${fmt(num(aggregateRuns.at(-1)!, 'elapsedMs'))} ms`);
    withSpans.push(await measure('e2e', { traces, lake: lakeSpans, writeSpans: true }));
    say(`  with spans ${fmt(num(withSpans.at(-1)!, 'elapsedMs'))} ms`);
    stageRuns.push(
      await measure('stages', { traces, lake: path.join(OUT, 'lake-stages'), writeSpans: true }),
    );
    say('  stages done');
    if (!flags['skip-peer']) {
      peer1.push(await measure('duckdb', { traces, threads: 1 }));
      say(`  duckdb 1 thread ${fmt(num(peer1.at(-1)!, 'elapsedMs'))} ms`);
      peerN.push(await measure('duckdb', { traces, threads: 0 }, false));
      say(`  duckdb default threads ${fmt(num(peerN.at(-1)!, 'elapsedMs'))} ms`);
    }
  }
  // The same aggregates the way most people first write them (a JSON path per field), once.
  const peerPaths = flags['skip-peer']
    ? null
    : await measure('duckdb', { traces, threads: 1, mode: 'paths' });
  // The last with-spans run's lake is still there: sizes and accuracy come from it.
  const smallRun = small
    ? await measure('e2e', {
        traces: traceDirOf(small),
        lake: path.join(OUT, 'lake-small'),
        writeSpans: true,
      })
    : null;
  const smallStatsOnly = small
    ? await measure('e2e', {
        traces: traceDirOf(small),
        lake: path.join(OUT, 'lake-small'),
        writeSpans: false,
      })
    : null;
  if (small) say('  memory growth runs done');
  const acc = flags['skip-accuracy'] ? null : await measure('accuracy', { lake: lakeSpans, traces });
  if (acc) say('  accuracy done');
  const cold = flags['skip-cold'] ? null : await coldStart(REPO, path.join(OUT, 'cold'), runs, PIN);
  if (cold) say('  cold start done');

  const spans = num(withSpans[0]!, 'spans');
  const floorMs = median(floors.map((f) => num(f, 'totalMs')));
  const statsMs = median(statsOnly.map((f) => num(f, 'elapsedMs')));
  const aggMs = median(aggregateRuns.map((f) => num(f, 'elapsedMs')));
  const spansMs = median(withSpans.map((f) => num(f, 'elapsedMs')));
  const stage = (k: string) => median(stageRuns.map((s) => num(s, 'ms', k)));
  const spanParquet = dirBytes(lakeSpans, (rel) => rel.startsWith('spans') && rel.endsWith('.parquet'));
  const lakeParquet = dirBytes(lakeSpans, (rel) => rel.endsWith('.parquet'));
  const statsLakeParquet = dirBytes(lakeStats, (rel) => rel.endsWith('.parquet'));
  const p1 = peer1.length ? median(peer1.map((p) => num(p, 'elapsedMs'))) : Number.NaN;
  const pN = peerN.length ? median(peerN.map((p) => num(p, 'elapsedMs'))) : Number.NaN;

  const results = {
    date: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      pinned: hasTaskset ? 'taskset -c 0' : 'no',
    },
    corpus: { ...corpus, files: corpus.files.length },
    runs,
    floor: floors,
    statsOnly,
    aggregates: aggregateRuns,
    withSpans,
    stages: stageRuns,
    peer1,
    peerN,
    peerPaths,
    smallRun,
    smallStatsOnly,
    accuracy: acc,
    cold,
    sizes: { spanParquet, lakeParquet, statsLakeParquet, input: corpus.bytes },
    elapsedS: (Date.now() - started) / 1000,
  };
  writeFileSync(path.join(OUT, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

  const lines: string[] = [];
  const row = (...cells: string[]) => lines.push(`| ${cells.join(' | ')} |`);
  lines.push(
    `Corpus: ${fmt(corpus.traces)} traces, ${fmt(spans)} complete spans, ${fmt(corpus.documents)} documents, ${fmt(corpus.bytes / 1e6)} MB in ${corpus.files.length} BatchGetTraces files, one 5-minute window.`,
  );
  lines.push(
    `Medians of ${runs} runs, each in a fresh process${hasTaskset ? ' pinned to one core' : ''}.`,
    '',
  );
  row('what', 'median ms', 'spans/s', 'vs floor');
  row('---', '---:', '---:', '---:');
  const fl = (ms: number) => `${fmt((floorMs / ms) * 100)} %`;
  row('floor: read + JSON.parse (response + Documents)', fmt(floorMs), fmt(rate(spans, floorMs)), '100 %');
  row('&nbsp;&nbsp;read + parse response', fmt(median(floors.map((f) => num(f, 'outerMs')))), '', '');
  row('&nbsp;&nbsp;parse Documents', fmt(median(floors.map((f) => num(f, 'innerMs')))), '', '');
  row('tracelake end to end, stats only', fmt(statsMs), fmt(rate(spans, statsMs)), fl(statsMs));
  row('tracelake end to end, with `spans`', fmt(spansMs), fmt(rate(spans, spansMs)), fl(spansMs));
  row(
    'tracelake, the same aggregates only (decode, flatten, sketches; nothing written)',
    fmt(aggMs),
    fmt(rate(spans, aggMs)),
    fl(aggMs),
  );
  if (peer1.length) {
    row('DuckDB, threads=1, from_json (same aggregates)', fmt(p1), fmt(rate(spans, p1)), fl(p1));
    row(
      `DuckDB, threads=${String(peerN[0]?.threads)} (unpinned; wall time)`,
      fmt(pN),
      fmt(rate(spans, pN)),
      fl(pN),
    );
  }
  if (peerPaths) {
    const pp = num(peerPaths, 'elapsedMs');
    row('DuckDB, threads=1, JSON path per field (1 run)', fmt(pp), fmt(rate(spans, pp)), fl(pp));
  }
  lines.push('');
  lines.push('Stages (same functions, timed one by one, with `spans`):', '');
  row('stage', 'median ms', 'spans/s');
  row('---', '---:', '---:');
  for (const [label, key] of [
    ['read + parse response (FileSource)', 'read'],
    ['decode: parse Documents + validate', 'decode'],
    ['link + flatten', 'flatten'],
    ['sketches (WindowAggregator.add)', 'sketch'],
    ['Arrow build', 'arrow'],
    ['Parquet encode (ZSTD)', 'parquet'],
    ['store put', 'put'],
  ] as const) {
    row(label, fmt(stage(key)), fmt(rate(spans, stage(key))));
  }
  lines.push('');
  if (peer1.length) {
    lines.push(
      `tracelake stats-only / DuckDB 1 thread: ${fmt(p1 / statsMs, 2)}× the throughput; with spans: ${fmt(p1 / spansMs, 2)}×; the same aggregates only: ${fmt(p1 / aggMs, 2)}× (per run: ${aggregateRuns.map((a, i) => fmt(num(peer1[i]!, 'elapsedMs') / num(a, 'elapsedMs'), 2)).join(', ')}). Against DuckDB on default threads: ${fmt(pN / statsMs, 2)}× and ${fmt(pN / spansMs, 2)}×.`,
    );
  }
  lines.push('');
  lines.push(
    `Peak RSS, with spans: ${fmt(Math.max(...withSpans.map((r) => num(r, 'peakRssMb'))))} MB at ${fmt(spans)} spans` +
      (smallRun ? `, ${fmt(num(smallRun, 'peakRssMb'))} MB at ${fmt(num(smallRun, 'spans'))} spans` : '') +
      `; stats only: ${fmt(Math.max(...statsOnly.map((r) => num(r, 'peakRssMb'))))} MB` +
      (smallStatsOnly ? ` and ${fmt(num(smallStatsOnly, 'peakRssMb'))} MB` : '') +
      '.',
  );
  lines.push(
    `Parquet: spans ${fmt(spanParquet / spans, 1)} bytes/span; whole lake ${fmt(lakeParquet / 1e6, 1)} MB for ${fmt(corpus.bytes / 1e6)} MB of input (input/lake ${fmt(corpus.bytes / lakeParquet, 1)}×; stats-only lake ${fmt(statsLakeParquet / 1e3, 1)} kB, ${fmt(corpus.bytes / statsLakeParquet)}×).`,
  );
  if (acc) {
    const e = acc.errors as Record<string, { max: number; median: number; within1pct: number }>;
    lines.push(
      `Accuracy over ${String(acc.keys)} keys (${String(acc.keysOver100)} with ≥ 100 spans), relative error of the sketch against the exact nearest-rank quantile (rank ⌈q·n⌉−1): ` +
        ['p50', 'p90', 'p99']
          .map(
            (p) =>
              `${p} max ${fmt((e[p]?.max ?? 0) * 100, 3)} % (median ${fmt((e[p]?.median ?? 0) * 100, 3)} %)`,
          )
          .join(', ') +
        '.',
    );
    const peer = acc.peer as Json;
    lines.push(
      `DuckDB peer vs tracelake: ${String(peer.sameCount)} of ${String(peer.keys)} keys with the same count (${String(peer.missing)} missing, ${String(peer.extra)} extra); largest p99 difference ${fmt(num(peer, 'p99MaxRelDiff') * 100, 2)} %.`,
    );
  }
  if (cold) {
    lines.push(
      `Collector bundle: ${fmt(cold.bundleBytes / 1024)} KiB JS (${fmt(cold.bundleGzipBytes / 1024)} KiB gzip) + ${fmt(cold.wasmBytes / 1024)} KiB wasm (+ ${fmt(cold.sourceMapBytes / 1024)} KiB source map). Cold start, process start → handler loaded: ${fmt(median(cold.runs.map((r) => r.importDoneMs)))} ms; → first window done (${cold.runs[0]?.traces} traces over local HTTP): ${fmt(median(cold.runs.map((r) => r.firstWindowDoneMs)))} ms.`,
    );
  }
  lines.push('', `Bench wall time: ${fmt(results.elapsedS)} s.`);
  const report = lines.join('\n');
  writeFileSync(path.join(OUT, 'report.md'), `${report}\n`);
  process.stdout.write(`${report}\n`);
}

await main();
