/**
 * The collector Lambda, bundled as the CDK app bundles it (infra/constructs/pipeline-function.ts:
 * esbuild, ES module, node22, minified, source maps, the `require` banner, parquet-wasm's `.wasm`
 * beside the bundle), run in a fresh `node` process against a local lake folder, a local X-Ray
 * endpoint and a local CloudWatch endpoint. Measures the bundle's size and the cold start: process
 * start to the first window done (the handler's return).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { windowStart } from '../lib/core/model.js';
import { startCloudWatch } from '../test/integration/support/cloudwatch-server.js';
import { makeTraffic } from '../test/integration/support/traces.js';
import { startXRay } from '../test/integration/support/xray-server.js';

const W = 300_000;
const LAG = 180_000;
const BANNER =
  "import { createRequire as __tracelakeRequire } from 'node:module'; const require = __tracelakeRequire(import.meta.url);";

export interface ColdResult {
  readonly bundleBytes: number;
  readonly bundleGzipBytes: number;
  readonly wasmBytes: number;
  readonly sourceMapBytes: number;
  readonly documents: number;
  /** Per run: ms since process start when the handler module was loaded, and when it returned. */
  readonly runs: { importDoneMs: number; firstWindowDoneMs: number; wallMs: number; traces: number }[];
}

const INVOKE = `
const started = performance.now();
const { handler } = await import('./bundle/index.mjs');
const imported = performance.now();
const context = { awsRequestId: 'bench-cold', functionName: 'tracelake-collector', functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:tracelake-collector',
  memoryLimitInMB: '1024', getRemainingTimeInMillis: () => 600000 };
const response = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);
const done = performance.now();
process.stdout.write('\\nCOLD ' + JSON.stringify({ started, imported, done, response }) + '\\n');
`;

/** Bundles the collector into `dir/bundle/` and returns the sizes. */
export async function bundleCollector(repoRoot: string, dir: string) {
  const out = path.join(dir, 'bundle');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [path.join(repoRoot, 'functions/collector/handler.ts')],
    outfile: path.join(out, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    banner: { js: BANNER },
    logLevel: 'error',
  });
  const wasm = createRequire(path.join(repoRoot, 'package.json')).resolve(
    'parquet-wasm/node/parquet_wasm_bg.wasm',
  );
  copyFileSync(wasm, path.join(out, 'parquet_wasm_bg.wasm'));
  writeFileSync(path.join(dir, 'invoke.mjs'), INVOKE);
  const js = readFileSync(path.join(out, 'index.mjs'));
  return {
    bundleBytes: js.byteLength,
    bundleGzipBytes: gzipSync(js).byteLength,
    wasmBytes: statSync(path.join(out, 'parquet_wasm_bg.wasm')).size,
    sourceMapBytes: statSync(path.join(out, 'index.mjs.map')).size,
  };
}

/** Bundles, starts the local endpoints, and runs the bundled handler `runs` times, each in a fresh process. */
export async function coldStart(
  repoRoot: string,
  dir: string,
  runs: number,
  pin: string[],
): Promise<ColdResult> {
  const sizes = await bundleCollector(repoRoot, dir);
  const now = Date.now();
  const due = windowStart(now - LAG - W, W);
  // A quiet shop: the cold start is about start-up, not volume.
  const traffic = makeTraffic({
    seed: 7,
    startMs: due - W,
    hours: (3 * W) / 3_600_000,
    requestsPerSecond: 2,
    regression: null,
  });
  const documents = traffic.traces
    .filter((t) => (traffic.startMs.get(t.id) ?? 0) >= due && (traffic.startMs.get(t.id) ?? 0) < due + W)
    .reduce((n, t) => n + t.segments.length, 0);
  const [xray, cw] = await Promise.all([startXRay(traffic.traces, { pageSize: 100 }), startCloudWatch()]);
  const results: ColdResult['runs'] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const lake = path.join(dir, 'lake');
      rmSync(lake, { recursive: true, force: true });
      const env = {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'bench',
        AWS_SECRET_ACCESS_KEY: 'bench',
        AWS_ENDPOINT_URL_XRAY: xray.endpoint,
        AWS_ENDPOINT_URL_CLOUDWATCH: cw.endpoint,
        TRACELAKE_LAKE_URI: lake,
        TRACELAKE_MAX_WINDOWS_PER_RUN: '1',
        TRACELAKE_XRAY_MAX_RPS: '1000',
        TRACELAKE_PARQUET_WASM: path.join(dir, 'bundle', 'parquet_wasm_bg.wasm'),
        POWERTOOLS_TRACE_ENABLED: 'false',
        POWERTOOLS_LOG_LEVEL: 'WARN',
        NODE_OPTIONS: '--enable-source-maps',
      };
      const t0 = performance.now();
      const output = await new Promise<string>((resolve, reject) => {
        const [cmd, ...pre] = [...pin, process.execPath];
        const child = spawn(cmd!, [...pre, path.join(dir, 'invoke.mjs')], {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let text = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => {
          text += d.toString();
        });
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
        });
        child.on('error', reject);
        child.on('close', (code) =>
          code === 0 ? resolve(text) : reject(new Error(`cold run exited ${code}: ${err}`)),
        );
      });
      const wallMs = performance.now() - t0;
      const line = output.split('\n').find((l) => l.startsWith('COLD '));
      if (!line) throw new Error(`cold run printed no result: ${output.slice(-500)}`);
      const r = JSON.parse(line.slice(5)) as {
        imported: number;
        done: number;
        response: { traces: number; windows: string[] };
      };
      if (r.response.windows.length !== 1)
        throw new Error(`cold run processed ${r.response.windows.length} windows`);
      results.push({
        importDoneMs: r.imported,
        firstWindowDoneMs: r.done,
        wallMs,
        traces: r.response.traces,
      });
    }
  } finally {
    await Promise.all([xray.stop(), cw.stop()]);
  }
  return { ...sizes, documents, runs: results };
}
