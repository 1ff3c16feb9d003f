import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeGlob, withDuckDb } from '../helpers/duckdb.js';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..');
const cli = join(repo, 'bin', 'tracelake.js');

async function tracelake(args: string[], cwd: string) {
  return run(process.execPath, [cli, ...args], {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: '1' },
  });
}

/** sha256 of every Parquet object under the lake's tables, by relative path. */
function lakeHashes(lake: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.parquet'))
        out.set(relative(lake, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(lake);
  return out;
}

describe('tracelake demo and run, end to end, read back with DuckDB', () => {
  let work: string;
  let manifest: { completeSpans: number; traces: number; brokenDocuments: number; inProgressSpans: number };
  let demoJson: {
    summary: { spans: number; rejected: number; traces: number; findings: { key: string }[] };
  };

  beforeAll(async () => {
    // Prepare: a one-and-a-half-hour demo with a fixed start so the run is reproducible.
    work = mkdtempSync(join(tmpdir(), 'tracelake-e2e-'));
    const { stdout } = await tracelake(
      [
        'demo',
        '--dir',
        'demo',
        '--hours',
        '1.5',
        '--rps',
        '2',
        '--seed',
        '11',
        '--start',
        '2026-03-02T09:00:00Z',
        '--json',
      ],
      work,
    );
    const parsed = JSON.parse(stdout);
    manifest = parsed.manifest;
    demoJson = parsed;
  }, 180_000);

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('writes exactly the complete spans generated, and reports the broken documents', async () => {
    const lake = join(work, 'demo', 'lake');
    const rows = await withDuckDb((q) => q(`SELECT count(*)::BIGINT AS n FROM ${lakeGlob(lake, 'spans')}`));
    expect(Number(rows[0]!.n)).toBe(manifest.completeSpans);
    expect(demoJson.summary.spans).toBe(manifest.completeSpans);
    expect(demoJson.summary.rejected).toBe(manifest.brokenDocuments);
    expect(manifest.brokenDocuments).toBeGreaterThan(0);
    const rejected = readdirSync(join(lake, '_rejected'));
    expect(rejected.length).toBe(1);
    const lines = readFileSync(join(lake, '_rejected', rejected[0]!), 'utf8')
      .trim()
      .split('\n');
    expect(lines.length).toBe(manifest.brokenDocuments);
    for (const line of lines) {
      const r = JSON.parse(line);
      expect(r.source).toMatch(/batchgettraces-.*\.json$/);
      expect(r.reason.length).toBeGreaterThan(10);
    }
  });

  it('keeps every percentile within 1% of the exact quantile DuckDB computes from spans', async () => {
    const lake = join(work, 'demo', 'lake');
    const comparisons = await withDuckDb((q) =>
      q(`
        WITH s AS (
          SELECT window_start, trace_id, duration_ms, self_ms,
                 CASE WHEN kind = 'segment' THEN service || CASE WHEN name = service THEN '' ELSE ' > ' || name END || ' [' || coalesce(nullif(origin, ''), 'segment') || ']'
                      ELSE service || ' > ' || name || coalesce(' ' || aws_operation, '') || coalesce(' ' || aws_resource, '') END AS key
          FROM ${lakeGlob(lake, 'spans')}
        ),
        exact AS (
          SELECT window_start, key, count(*) AS n,
                 quantile_disc(duration_ms, [0.5, 0.9, 0.95, 0.99, 0.999]) AS q,
                 quantile_disc(self_ms, [0.5, 0.99]) AS sq
          FROM s GROUP BY ALL
        )
        SELECT e.key, e.n, st.count, e.q, st.p50_ms, st.p90_ms, st.p95_ms, st.p99_ms, st.p999_ms, e.sq, st.self_p50_ms, st.self_p99_ms
        FROM exact e JOIN ${lakeGlob(lake, 'subsegment_stats')} st
          ON st.key = e.key AND st.window_start = e.window_start
        WHERE e.n >= 50
      `),
    );
    expect(comparisons.length).toBeGreaterThan(20);
    const rel = (a: number, b: number) => (b === 0 ? Math.abs(a) : Math.abs(a - b) / Math.abs(b));
    let worst = 0;
    for (const c of comparisons) {
      expect(Number(c.count)).toBe(Number(c.n));
      const exact = c.q as number[];
      const mine = [c.p50_ms, c.p90_ms, c.p95_ms, c.p99_ms, c.p999_ms] as number[];
      const selfExact = c.sq as number[];
      const selfMine = [c.self_p50_ms, c.self_p99_ms] as number[];
      for (let i = 0; i < exact.length; i++) worst = Math.max(worst, rel(mine[i]!, exact[i]!));
      for (let i = 0; i < selfExact.length; i++) worst = Math.max(worst, rel(selfMine[i]!, selfExact[i]!));
    }
    expect(worst).toBeLessThanOrEqual(0.01);
  });

  it('finds the injected regression as the one root cause, and its callers as consequences of it', async () => {
    const injected = 'orders-api > DynamoDB Query orders';
    expect(demoJson.summary.findings.some((f) => f.key === injected)).toBe(true);
    const lake = join(work, 'demo', 'lake');
    const rows = await withDuckDb((q) =>
      q(`SELECT key, explained_by, since, exemplar_trace_ids FROM ${lakeGlob(lake, 'regressions')}`),
    );
    const roots = [...new Set(rows.filter((r) => r.explained_by === null).map((r) => r.key))];
    expect(roots).toEqual([injected]);
    const consequences = rows.filter((r) => r.explained_by !== null);
    expect(consequences.length).toBeGreaterThan(0);
    for (const r of consequences) expect(r.explained_by).toBe(injected);
    // Onset within one window of the injected start (an hour into the demo), with slow traces as evidence.
    const injectedAt = Date.parse('2026-03-02T10:00:00Z');
    const first = rows
      .filter((r) => r.key === injected)
      .sort((a, b) => Number(a.since) - Number(b.since))[0]!;
    expect(Math.abs(Number(first.since) - injectedAt)).toBeLessThanOrEqual(300_000);
    expect((first.exemplar_trace_ids as string[]).length).toBeGreaterThan(0);
  });

  it('leaves the lake byte-for-byte the same when the same input is run twice', async () => {
    const input = join(work, 'demo', 'input');
    const lake = join(work, 'again');
    await tracelake(['run', '--source', input, '--lake', lake, '--quiet'], work);
    const first = lakeHashes(lake);
    const count = await withDuckDb((q) => q(`SELECT count(*)::BIGINT AS n FROM ${lakeGlob(lake, 'spans')}`));
    await tracelake(['run', '--source', input, '--lake', lake, '--quiet'], work);
    const second = lakeHashes(lake);
    expect(first.size).toBeGreaterThan(10);
    expect([...second.entries()].sort()).toEqual([...first.entries()].sort());
    const again = await withDuckDb((q) => q(`SELECT count(*)::BIGINT AS n FROM ${lakeGlob(lake, 'spans')}`));
    expect(Number(again[0]!.n)).toBe(Number(count[0]!.n));
    expect(Number(again[0]!.n)).toBe(manifest.completeSpans);
  });

  it('exits 2 with one clear line on bad arguments or a source path that does not exist', async () => {
    const bad = await tracelake(['run', '--lake', 'x'], work).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--source is required/);
    expect(bad.stderr).not.toMatch(/at .*\.js:\d+/);
    const missing = await tracelake(['run', '--source', 'nope/', '--lake', 'x'], work).catch((e) => e);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such file or folder/);
  });

  it('prints help for every command', async () => {
    for (const cmd of ['demo', 'run', 'backfill']) {
      const { stdout } = await tracelake([cmd, '--help'], work);
      expect(stdout).toMatch(/^Usage: tracelake/);
    }
  });
});
