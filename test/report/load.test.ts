import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../lib/adapters/local-store.js';
import { encodeParquet } from '../../lib/adapters/parquet.js';
import { objectKey, REGRESSIONS } from '../../lib/core/tables.js';
import { copyLakeObjects, loadReportInput, partitionInRange } from '../../lib/report/load.js';
import { fullFinding, fullStats, span, writeLake } from '../query/lake.js';
import { consequenceRows, findingRows, SLOW_KEY, statsRows, T0, W } from './rows.js';

describe('partitionInRange', () => {
  const range = { fromMs: Date.UTC(2026, 2, 2, 10), toMs: Date.UTC(2026, 2, 2, 11) };
  it('keeps partitions that overlap the range, by day and by hour', () => {
    expect(partitionInRange('dt=2026-03-02/hour=09/x.parquet', range)).toBe(false);
    expect(partitionInRange('dt=2026-03-02/hour=10/x.parquet', range)).toBe(true);
    expect(partitionInRange('dt=2026-03-02/hour=11/x.parquet', range)).toBe(false);
    expect(partitionInRange('dt=2026-03-02/x.parquet', range)).toBe(true);
    expect(partitionInRange('dt=2026-03-01/x.parquet', range)).toBe(false);
    expect(partitionInRange('odd/x.parquet', range)).toBe(true);
    expect(partitionInRange('dt=2026-03-01/x.parquet', null)).toBe(true);
  });
});

describe('loadReportInput', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tracelake-report-load-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back the stats and findings written to the lake, and self time from spans', async () => {
    // Prepare
    const stats = statsRows();
    const findings = findingRows();
    await writeLake(dir, {
      stats: stats.map(fullStats),
      regressions: findings.map(fullFinding),
      spans: [
        span({ service: 'api', name: 'api', kind: 'segment', self_ms: 5, window_start: T0 }),
        span({
          service: 'api',
          name: 'api',
          kind: 'segment',
          origin: 'AWS::Lambda',
          self_ms: 2,
          window_start: T0,
        }),
        span({
          service: 'api',
          name: 'DynamoDB',
          kind: 'subsegment',
          aws_operation: 'Query',
          aws_resource: 'orders',
          self_ms: 7,
          window_start: T0,
        }),
        span({
          service: 'api',
          name: 'DynamoDB',
          kind: 'subsegment',
          aws_operation: 'Query',
          aws_resource: 'orders',
          self_ms: 3,
          window_start: T0 + W,
        }),
        span({
          service: 'api',
          name: 'remote',
          kind: 'subsegment',
          aws_operation: '',
          self_ms: 4,
          window_start: T0 + W,
        }),
      ],
    });
    // Act
    const input = await loadReportInput({ dir }, { region: 'us-west-2', nowMs: 42 });
    // Assess
    const byKey = (a: { key: string; window_start: number }, b: { key: string; window_start: number }) =>
      a.window_start - b.window_start || a.key.localeCompare(b.key);
    expect([...input.stats].sort(byKey)).toEqual([...stats].sort(byKey));
    expect([...input.findings].sort(byKey)).toEqual([...findings].sort(byKey));
    expect(input.selfTime.source).toBe('spans');
    expect([...input.selfTime.rows].sort((a, b) => (a.label < b.label ? -1 : 1))).toEqual([
      { service: 'api', label: 'DynamoDB Query orders', totalMs: 10, count: 2 },
      { service: 'api', label: '[AWS::Lambda]', totalMs: 2, count: 1 },
      { service: 'api', label: '[segment]', totalMs: 5, count: 1 },
      { service: 'api', label: 'remote', totalMs: 4, count: 1 },
    ]);
    expect(input.region).toBe('us-west-2');
    expect(input.generatedAtMs).toBe(42);
  });

  it('filters by range and falls back to mean × count without spans', async () => {
    const stats = statsRows().map((r) =>
      r.key === 'payments [segment]' ? { ...r, key: 'payments [AWS::Lambda::Function]' } : r,
    );
    await writeLake(dir, { stats: stats.map(fullStats), regressions: findingRows().map(fullFinding) });
    const range = { fromMs: T0 + 20 * W, toMs: T0 + 22 * W };
    const input = await loadReportInput({ dir }, { region: 'us-east-1', range });
    expect(new Set(input.stats.map((r) => r.window_start))).toEqual(new Set([T0 + 20 * W, T0 + 21 * W]));
    expect(input.findings.map((f) => f.window_start)).toEqual([T0 + 20 * W, T0 + 21 * W]);
    expect(input.selfTime.source).toBe('stats');
    const s3 = input.selfTime.rows.find((r) => r.label === 'S3 GetObject assets')!;
    const expected = statsRows()
      .filter(
        (r) =>
          r.key === 'orders-api > S3 GetObject assets' &&
          r.window_start >= range.fromMs &&
          r.window_start < range.toMs,
      )
      .reduce((n, r) => n + r.mean_ms * r.count, 0);
    expect(s3.totalMs).toBeCloseTo(expected, 6);
    expect(s3.service).toBe('orders-api');
    const own = input.selfTime.rows.filter((r) => r.service === 'orders-api' && r.label.startsWith('['));
    expect(own.map((r) => r.label)).toEqual(['[segment]']);
    // A segment key carrying its origin keeps it as the label.
    expect(input.selfTime.rows.find((r) => r.service === 'payments' && r.label.startsWith('['))?.label).toBe(
      '[AWS::Lambda::Function]',
    );
  });

  it('reads which root cause explains a finding', async () => {
    const findings = [...findingRows(), ...consequenceRows()];
    await writeLake(dir, { stats: statsRows().map(fullStats), regressions: findings.map(fullFinding) });
    const input = await loadReportInput({ dir }, { region: 'us-east-1' });
    const explained = input.findings.filter((f) => f.explained_by !== null);
    expect(explained.length).toBe(consequenceRows().length);
    expect(new Set(explained.map((f) => f.explained_by))).toEqual(new Set([SLOW_KEY]));
    expect(input.findings.filter((f) => f.key === SLOW_KEY).every((f) => f.explained_by === null)).toBe(true);
  });

  it('loads findings written before explained_by existed as root causes, next to newer ones', async () => {
    // Prepare: older regressions files lack the column; a newer file of a later day has it.
    const old = { ...REGRESSIONS, columns: REGRESSIONS.columns.filter((c) => c.name !== 'explained_by') };
    const rows = findingRows();
    for (const r of rows) {
      const file = join(dir, objectKey(old, r.window_start, 0));
      mkdirSync(dirname(file), { recursive: true });
      const { explained_by: _, ...older } = fullFinding(r);
      writeFileSync(file, await encodeParquet(old, [older]));
    }
    const day = 86_400_000;
    const later = consequenceRows().map((r) => ({ ...r, window_start: r.window_start + day }));
    await writeLake(dir, { stats: statsRows().map(fullStats), regressions: later.map(fullFinding) });
    // Act
    const input = await loadReportInput({ dir }, { region: 'us-east-1' });
    // Assess
    expect(input.findings.length).toBe(rows.length + later.length);
    const olderRead = input.findings.filter((f) => f.window_start < T0 + day);
    expect(olderRead.map((f) => f.explained_by)).toEqual(rows.map(() => null));
    expect(olderRead.map((f) => f.key)).toEqual(rows.map((r) => r.key));
    const newerRead = input.findings.filter((f) => f.window_start >= T0 + day);
    expect(newerRead.map((f) => f.explained_by)).toEqual(later.map(() => SLOW_KEY));
    // Only older files in the range: the column is in none of them.
    const first = await loadReportInput(
      { dir },
      { region: 'us-east-1', range: { fromMs: T0, toMs: T0 + 12 * 3_600_000 } },
    );
    expect(first.findings.map((f) => f.explained_by)).toEqual(rows.map(() => null));
  });

  it('reads an empty lake as no rows', async () => {
    const input = await loadReportInput({ dir }, { region: 'us-east-1' });
    expect(input.stats).toEqual([]);
    expect(input.findings).toEqual([]);
    expect(input.selfTime).toEqual({ source: 'stats', rows: [] });
  });

  it('reads a lake behind the ObjectStore port through a temporary copy of the objects in range', async () => {
    // Prepare: the same lake, reached only through the store interface an S3 lake implements.
    const lakeDir = join(dir, 'remote');
    const keys = await writeLake(lakeDir, {
      stats: statsRows().map(fullStats),
      regressions: findingRows().map(fullFinding),
    });
    const store = new LocalObjectStore(lakeDir);
    const copies: [number, number][] = [];
    // Act
    const input = await loadReportInput(
      { store },
      {
        region: 'us-east-1',
        range: { fromMs: T0 + 12 * W, toMs: T0 + 24 * W },
        progress: (d, t) => copies.push([d, t]),
      },
    );
    // Assess: 10:00–11:00 is one hour partition of stats and the day's regressions partitions.
    expect(input.lake).toBe(store.describe());
    expect(input.stats.length).toBe(12 * 5);
    expect(input.findings.length).toBe(6);
    const inRange = keys.filter((k) => k.includes('hour=10') || k.startsWith('regressions/'));
    expect(copies.at(-1)).toEqual([inRange.length, inRange.length]);
  });

  it('copyLakeObjects keeps keys as paths', async () => {
    const lakeDir = join(dir, 'src');
    const keys = await writeLake(lakeDir, { stats: statsRows(2).map(fullStats) });
    const n = await copyLakeObjects(new LocalObjectStore(lakeDir), join(dir, 'dst'), null);
    expect(n).toBe(keys.length);
    const copied = await new LocalObjectStore(join(dir, 'dst')).list('subsegment_stats/');
    expect(copied).toEqual(keys);
  });
});
