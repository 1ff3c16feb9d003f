/**
 * The saved Athena queries of the CDK app (`infra/queries/*.sql`), run unchanged through
 * `tracelake query` on a demo lake, give the answers the raw Parquet files hold. Expectations
 * are computed independently from the files (read with plain `read_parquet`, no views, no shim).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeGlob, withDuckDb } from '../helpers/duckdb.js';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..');
const cli = join(repo, 'bin', 'tracelake.js');
const queries = join(repo, 'infra', 'queries');
const START = Date.UTC(2026, 2, 2, 9);
const AT = '2026-03-02T11:00:00Z';
// The demo injects its regression at start + round(hours * 2/3 * 4) quarter hours: 10:15 for 2 h.
const ONSET = Date.UTC(2026, 2, 2, 10, 15);
const INJECTED = 'orders-api > DynamoDB Query orders';

type Row = Record<string, unknown>;

async function tracelake(args: string[], cwd: string) {
  return run(process.execPath, [cli, ...args], {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: '1' },
  });
}

/** Exit code, stdout and stderr of a run that may fail. */
async function attempt(args: string[], cwd: string) {
  try {
    const { stdout, stderr } = await tracelake(args, cwd);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const ms = (v: unknown) => new Date(String(v)).getTime();

describe('saved Athena queries through tracelake query, on a demo lake', () => {
  let work: string;
  let lake: string;
  let raw: { stats: Row[]; regressions: Row[]; spans: Row[] };

  /** Runs a saved query (with literal replacements), pinned to the end of the demo, as JSON rows. */
  async function saved(name: string, replace: [string, string][] = []): Promise<Row[]> {
    let sql = readFileSync(join(queries, name), 'utf8');
    for (const [from, to] of replace) {
      expect(sql, `${name} should contain ${from}`).toContain(from);
      sql = sql.replace(from, to);
    }
    const file = join(work, `q-${name}`);
    writeFileSync(file, sql);
    const { stdout } = await tracelake(
      ['query', '--lake', lake, '--at', AT, '--format', 'json', '--file', file],
      work,
    );
    return JSON.parse(stdout) as Row[];
  }

  beforeAll(async () => {
    // Prepare: two hours of demo traffic with a fixed start, in ./tracelake-demo (the default lake).
    work = mkdtempSync(join(tmpdir(), 'tracelake-queries-'));
    await tracelake(
      [
        'demo',
        '--dir',
        'tracelake-demo',
        '--hours',
        '2',
        '--rps',
        '1',
        '--seed',
        '7',
        '--start',
        '2026-03-02T09:00:00Z',
        '--quiet',
      ],
      work,
    );
    lake = join(work, 'tracelake-demo', 'lake');
    raw = await withDuckDb(async (q) => ({
      stats: await q(`SELECT * FROM ${lakeGlob(lake, 'subsegment_stats')}`),
      regressions: await q(`SELECT * FROM ${lakeGlob(lake, 'regressions')}`),
      spans: await q(
        `SELECT trace_id, service, name, aws_operation, start_time, duration_ms FROM ${lakeGlob(lake, 'spans')} WHERE name = 'DynamoDB'`,
      ),
    }));
  }, 240_000);

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('slowest-subsegments-24h: every key with its worst window p99, slowest first, the injected key much slower than its baseline', async () => {
    const rows = await saved('slowest-subsegments-24h.sql');
    const subs = raw.stats.filter((r) => r.kind === 'subsegment');
    const keys = new Set(subs.map((r) => String(r.key)));
    expect(rows.length).toBe(Math.min(25, keys.size));
    const worst = rows.map((r) => Number(r.worst_p99_ms));
    expect(worst).toEqual([...worst].sort((a, b) => b - a));
    for (const r of rows) {
      const mine = subs.filter((s) => s.key === r.key);
      const max = Math.max(...mine.map((s) => Number(s.p99_ms)));
      expect(r.worst_p99_ms).toBeCloseTo(max, 3);
      expect(r.requests).toBe(mine.reduce((n, s) => n + Number(s.count), 0));
      // Sketch percentiles can tie across windows; max_by may take any of the tied windows.
      const tied = mine.filter((s) => Number(s.p99_ms) === max).map((s) => s.exemplar_trace_ids);
      expect(tied).toContainEqual(r.slowest_window_trace_ids);
    }
    const injected = rows.find((r) => r.key === INJECTED);
    expect(injected).toBeDefined();
    const before = subs
      .filter((s) => s.key === INJECTED && Number(s.window_start) < ONSET)
      .map((s) => Number(s.p99_ms));
    const baseline = before.sort((a, b) => a - b)[before.length >> 1]!;
    expect(Number(injected!.worst_p99_ms)).toBeGreaterThan(1.8 * baseline);
  });

  it('slowest-subsegments-24h without --at reads "the last 24 hours" of today, which this March lake does not hold', async () => {
    const { stdout } = await tracelake(
      ['query', '--lake', lake, '--format', 'json', '--file', join(queries, 'slowest-subsegments-24h.sql')],
      work,
    );
    expect(Date.now()).toBeGreaterThan(START + 2 * 86_400_000);
    expect(JSON.parse(stdout)).toEqual([]);
  });

  it('regressions-with-traces: the injected key with its onset, and slow traces that really are slower than the typical ones', async () => {
    const rows = await saved('regressions-with-traces.sql');
    expect(rows.length).toBe(Math.min(100, raw.regressions.length));
    const order = rows.map((r) => ms(r.window_start));
    expect(order).toEqual([...order].sort((a, b) => b - a));
    const mine = rows.filter((r) => r.key === INJECTED);
    expect(mine.length).toBeGreaterThan(0);
    for (const r of mine) {
      expect(Math.abs(ms(r.since) - ONSET)).toBeLessThanOrEqual(10 * 60_000);
      expect(Number(r.ratio)).toBeGreaterThan(1);
    }
    // Slow traces are from around the onset on; the first finding of each statistic shows
    // typical traces from before it.
    for (const r of mine) {
      for (const id of r.exemplar_trace_ids as string[]) {
        const start = raw.spans.find((x) => x.trace_id === id)?.start_time;
        expect(Number(start)).toBeGreaterThanOrEqual(ONSET - 10 * 60_000);
      }
    }
    for (const stat of new Set(mine.map((r) => r.statistic))) {
      const first = mine.filter((r) => r.statistic === stat).at(-1)!;
      for (const id of first.baseline_exemplar_trace_ids as string[]) {
        expect(Number(raw.spans.find((x) => x.trace_id === id)?.start_time)).toBeLessThan(ONSET);
      }
    }
    const query = raw.spans.filter((s) => s.service === 'orders-api' && s.aws_operation === 'Query');
    const durationOf = (ids: unknown) =>
      (ids as string[]).flatMap((id) =>
        query.filter((s) => s.trace_id === id).map((s) => Number(s.duration_ms)),
      );
    const slow = mine.flatMap((r) => durationOf(r.exemplar_trace_ids));
    const firsts = [...new Set(mine.map((r) => r.statistic))].map(
      (st) => mine.filter((r) => r.statistic === st).at(-1)!,
    );
    const typical = firsts.flatMap((r) => durationOf(r.baseline_exemplar_trace_ids));
    expect(slow.length).toBeGreaterThan(0);
    expect(typical.length).toBeGreaterThan(0);
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
    expect(median(slow)).toBeGreaterThan(median(typical));
  });

  it('p99-trend-of-key: one row per window, oldest first, p99 about 2.5× higher after the onset', async () => {
    const rows = await saved('p99-trend-of-key.sql', [
      ["'orders > DynamoDB GetItem orders'", `'${INJECTED}'`],
    ]);
    const mine = raw.stats
      .filter((s) => s.key === INJECTED)
      .sort((a, b) => Number(a.window_start) - Number(b.window_start));
    expect(rows.map((r) => ms(r.window_start))).toEqual(mine.map((s) => Number(s.window_start)));
    rows.forEach((r, i) => {
      expect(r.p99_ms).toBeCloseTo(Number(mine[i]!.p99_ms), 3);
      expect(r.requests).toBe(Number(mine[i]!.count));
    });
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const before = rows.filter((r) => ms(r.window_start) < ONSET).map((r) => Number(r.p99_ms));
    const after = rows.filter((r) => ms(r.window_start) >= ONSET).map((r) => Number(r.p99_ms));
    expect(mean(after) / mean(before)).toBeGreaterThan(1.8);
  });

  it('slowest-traces-for-subsegment: the 20 slowest Query calls, slowest first, mostly after the onset', async () => {
    const rows = await saved('slowest-traces-for-subsegment.sql', [
      ["'orders' AS service", "'orders-api' AS service"],
      ['CAST(NULL AS VARCHAR) AS aws_operation', "'Query' AS aws_operation"],
    ]);
    const all = raw.spans
      .filter((s) => s.service === 'orders-api' && s.aws_operation === 'Query')
      .map((s) => Number(s.duration_ms))
      .sort((a, b) => b - a);
    expect(rows.length).toBe(20);
    rows.forEach((r, i) => {
      expect(r.duration_ms).toBeCloseTo(all[i]!, 3);
      expect(r.aws_operation).toBe('Query');
    });
    // 45 of the 120 minutes are after the onset; far more of the slowest calls are.
    expect(rows.filter((r) => ms(r.start_time) >= ONSET).length).toBeGreaterThanOrEqual(14);
  });

  it('error-fault-rates: sums and rates per key as in the files, worst fault rate first', async () => {
    const rows = await saved('error-fault-rates.sql');
    expect(rows.length).toBeGreaterThan(0);
    const fault = rows.map((r) => Number(r.fault_rate));
    expect(fault).toEqual([...fault].sort((a, b) => b - a));
    for (const r of rows) {
      const mine = raw.stats.filter((s) => s.key === r.key);
      const sum = (c: string) => mine.reduce((n, s) => n + Number(s[c]), 0);
      expect([r.requests, r.errors, r.faults, r.throttles]).toEqual([
        sum('count'),
        sum('error_count'),
        sum('fault_count'),
        sum('throttle_count'),
      ]);
      expect(r.fault_rate).toBeCloseTo(sum('fault_count') / sum('count'), 4);
      expect(r.error_rate).toBeCloseTo(sum('error_count') / sum('count'), 4);
    }
  });

  describe('the command', () => {
    it('reads ./tracelake-demo/lake by default and prints CSV when not on a terminal', async () => {
      const { stdout } = await tracelake(
        ['query', 'SELECT count(*) AS n, min(dt) AS dt FROM subsegment_stats'],
        work,
      );
      expect(stdout).toBe(`n,dt\n${raw.stats.length},2026-03-02\n`);
    });

    it('--json is --format json; --format table aligns and counts rows', async () => {
      const sql =
        'SELECT key, sum("count") AS n FROM subsegment_stats GROUP BY key ORDER BY n DESC, key LIMIT 3';
      const a = await tracelake(['query', '--json', sql], work);
      const b = await tracelake(['query', '--format', 'json', sql], work);
      expect(a.stdout).toBe(b.stdout);
      const t = (await tracelake(['query', '--format', 'table', sql], work)).stdout.trimEnd().split('\n');
      expect(t[0]).toMatch(/^key\s+n$/);
      expect(t.at(-1)).toBe('(3 rows)');
      const width = t[0]!.length;
      for (const line of t.slice(1, -1)) expect(line.length).toBe(width);
    });

    it('a SQL error is one clear line and exit 1; bad flags exit 2', async () => {
      const bad = await attempt(['query', 'SELEC 1'], work);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toBe('');
      expect(bad.stderr).toBe('tracelake query: Parser Error: syntax error at or near "SELEC"\n');
      const table = await attempt(['query', 'SELECT * FROM nope'], work);
      expect(table.code).toBe(1);
      expect(table.stderr.trim().split('\n')).toHaveLength(1);
      expect(table.stderr).toMatch(/^tracelake query: Catalog Error: .*nope/);
      expect((await attempt(['query', '--format', 'xml', 'SELECT 1'], work)).code).toBe(2);
      expect((await attempt(['query', '--lake', join(work, 'missing'), 'SELECT 1'], work)).code).toBe(2);
    });
  });

  describe('tracelake report', () => {
    it('the demo wrote its report beside the lake', () => {
      const html = readFileSync(join(work, 'tracelake-demo', 'report.html'), 'utf8');
      expect(html).toContain(`data-key="${INJECTED.replace('>', '&gt;')}"`);
    });

    it('writes the page and says what is in it with --json, links in the region asked for', async () => {
      const { stdout } = await tracelake(
        ['report', '--out', 'out/r.html', '--region', 'eu-west-1', '--json'],
        work,
      );
      const info = JSON.parse(stdout) as {
        out: string;
        windows: number;
        findings: { key: string }[];
        charts: { key: string }[];
      };
      expect(info.out).toBe(join(work, 'out', 'r.html'));
      expect(info.windows).toBe(24);
      expect(info.findings.map((f) => f.key)).toContain(INJECTED);
      expect(info.charts[0]!.key).toBe(INJECTED);
      const html = readFileSync(info.out, 'utf8');
      expect(html).toContain(
        'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#xray:traces/1-',
      );
    });

    it('--from/--to narrow the windows; a bad region is refused', async () => {
      const { stdout } = await tracelake(
        [
          'report',
          '--from',
          '2026-03-02T10:00:00Z',
          '--to',
          '2026-03-02T10:30:00Z',
          '--out',
          'half.html',
          '--json',
        ],
        work,
      );
      const info = JSON.parse(stdout) as { windows: number; from: string };
      expect(info.windows).toBe(6);
      expect(info.from).toBe('2026-03-02T10:00:00.000Z');
      const bad = await attempt(['report', '--region', 'moon', '--out', 'x.html'], work);
      expect(bad.code).toBe(2);
      expect(existsSync(join(work, 'x.html'))).toBe(false);
    });
  });
});
