/**
 * The functions bundle with the locally installed esbuild (no Docker): an ES module per handler
 * with parquet-wasm's `.wasm` beside it, where `TRACELAKE_PARQUET_WASM` points on Lambda.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ofType, synthesize } from './synth.js';

// The one synthesis of the infra suite that really bundles.
const synth = synthesize({ 'aws:cdk:enable-asset-metadata': true }, { bundle: true, nag: false });
afterAll(() => synth.cleanup());

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const installedWasm = createRequire(import.meta.url).resolve('parquet-wasm/node/parquet_wasm_bg.wasm');

const functions = ofType(synth.json, 'AWS::Lambda::Function').map(([id, fn]) => {
  const assetPath = (fn.Metadata as Record<string, string>)['aws:asset:path']!;
  return { id, dir: path.resolve(synth.outdir, assetPath), props: fn.Properties! };
});

describe('function bundles', () => {
  it('bundles both handlers', () => {
    expect(functions.map((f) => f.id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'BackfillWorkerFunction',
      'CollectorFunction',
    ]);
  });

  for (const name of ['Collector', 'BackfillWorker']) {
    it(`${name}: index.mjs with a handler export, and the same parquet wasm the tests use`, async () => {
      const fn = functions.find((f) => f.id.startsWith(name))!;
      expect(existsSync(path.join(fn.dir, 'index.mjs'))).toBe(true);
      const wasm = path.join(fn.dir, 'parquet_wasm_bg.wasm');
      expect(sha256(wasm)).toBe(sha256(installedWasm));
      const env = (fn.props.Environment as { Variables: Record<string, string> }).Variables;
      expect(path.basename(env.TRACELAKE_PARQUET_WASM!)).toBe('parquet_wasm_bg.wasm');
      const mod = (await import(pathToFileURL(path.join(fn.dir, 'index.mjs')).href)) as { handler?: unknown };
      expect(typeof mod.handler).toBe('function');
    });
  }
});
