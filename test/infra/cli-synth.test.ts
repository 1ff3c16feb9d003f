import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..');

describe('the pinned cdk CLI', () => {
  const out = mkdtempSync(join(tmpdir(), 'tracelake-cdk-cli-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('synthesizes the app offline, bundling both functions with local esbuild, cdk-nag included', async () => {
    const cdk = join(repo, 'node_modules', 'aws-cdk', 'bin', 'cdk');
    const { stderr } = await run(process.execPath, [cdk, 'synth', '--quiet', '--output', out], {
      cwd: repo,
      // No credentials and no network: synth must not need either.
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        CDK_DISABLE_VERSION_CHECK: 'true',
      },
      maxBuffer: 32 * 1024 * 1024,
      timeout: 240_000,
    });
    expect(stderr).not.toMatch(/\[Error at|AwsSolutions-/);
    const templates = readdirSync(out).filter((f) => f.endsWith('.template.json'));
    expect(templates.length).toBe(1);
    const template = JSON.parse(readFileSync(join(out, templates[0]!), 'utf8'));
    const functions = Object.values(
      template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>,
    ).filter((r) => r.Type === 'AWS::Lambda::Function' && (r.Properties.Runtime as string) === 'nodejs22.x');
    expect(functions.length).toBeGreaterThanOrEqual(2);
    for (const fn of functions) expect(fn.Properties.Architectures).toEqual(['arm64']);
    // Each bundled asset carries parquet-wasm's wasm beside the code.
    const assets = readdirSync(out).filter((d) => d.startsWith('asset.'));
    const bundles = assets.filter((d) => existsSync(join(out, d, 'index.mjs')));
    expect(bundles.length).toBeGreaterThanOrEqual(2);
    for (const b of bundles) expect(existsSync(join(out, b, 'parquet_wasm_bg.wasm'))).toBe(true);
  }, 300_000);
});
