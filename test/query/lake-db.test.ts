import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeParquet } from '../../lib/adapters/parquet.js';
import { objectKey, SUBSEGMENT_STATS, TABLES } from '../../lib/core/tables.js';
import { LakeDb, QueryError } from '../../lib/query/lake-db.js';
import { findingRows, SLOW_KEY, statsRows, T0, W } from '../report/rows.js';
import { fullFinding, fullStats, writeLake } from './lake.js';

describe('LakeDb views', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tracelake-query-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('an empty lake has every table, with the Athena columns in order and partition keys last', async () => {
    const db = await LakeDb.open(dir);
    try {
      for (const def of TABLES) {
        const r = await db.query(`SELECT * FROM ${def.name}`);
        expect(r.rows).toEqual([]);
        expect(r.columns.map((c) => c.name)).toEqual([
          ...def.columns.map((c) => c.name),
          ...def.partitionKeys,
        ]);
      }
      expect(db.files).toEqual({ spans: 0, subsegment_stats: 0, regressions: 0, traces: 0 });
    } finally {
      db.close();
    }
  });

  it('a table with files has the same column types as the empty one', async () => {
    await writeLake(dir, { stats: statsRows(2).map(fullStats) });
    const empty = mkdtempSync(join(tmpdir(), 'tracelake-query-empty-'));
    const [full, none] = [await LakeDb.open(dir), await LakeDb.open(empty)];
    try {
      const types = async (db: LakeDb) => (await db.query('SELECT * FROM subsegment_stats LIMIT 0')).columns;
      expect(await types(full)).toEqual(await types(none));
      expect((await types(full)).find((c) => c.name === 'window_start')?.type).toBe('TIMESTAMP');
      expect((await types(full)).find((c) => c.name === 'dt')?.type).toBe('VARCHAR');
    } finally {
      full.close();
      none.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('files written before a column was added read that column as NULL', async () => {
    // Prepare: an object of an older schema, without `service_versions`.
    const older = {
      ...SUBSEGMENT_STATS,
      columns: SUBSEGMENT_STATS.columns.filter((c) => c.name !== 'service_versions'),
    };
    const key = objectKey(SUBSEGMENT_STATS, T0);
    mkdirSync(dirname(join(dir, key)), { recursive: true });
    writeFileSync(join(dir, key), await encodeParquet(older, statsRows(1).map(fullStats)));
    const db = await LakeDb.open(dir);
    try {
      // Act
      const rows = await db.objects('SELECT key, service_versions FROM subsegment_stats ORDER BY key');
      // Assess
      expect(rows.length).toBe(5);
      expect(rows.every((r) => r.service_versions === null && typeof r.key === 'string')).toBe(true);
    } finally {
      db.close();
    }
  });

  it('reads partitions as strings and timestamps as UTC wall-clock times', async () => {
    await writeLake(dir, {
      stats: statsRows(24).map(fullStats),
      regressions: findingRows().map(fullFinding),
    });
    const db = await LakeDb.open(dir);
    try {
      const rows = await db.objects(`
        SELECT dt, hour, min(window_start) AS first, count(*) AS n FROM subsegment_stats
        GROUP BY dt, hour ORDER BY hour`);
      expect(rows).toEqual([
        { dt: '2026-03-02', hour: '09', first: new Date(T0), n: 60 },
        { dt: '2026-03-02', hour: '10', first: new Date(T0 + 12 * W), n: 60 },
      ]);
      const [f] = await db.objects(
        `SELECT key, since, exemplar_trace_ids[1] AS first_id FROM regressions ORDER BY window_start LIMIT 1`,
      );
      expect(f).toEqual({
        key: SLOW_KEY,
        since: new Date(T0 + 16 * W + 60_000),
        first_id: `1-69c55d10-${'18'.padStart(24, '0')}`,
      });
    } finally {
      db.close();
    }
  });

  it('runs a script statement by statement and returns the last result', async () => {
    const db = await LakeDb.open(dir);
    try {
      const r = await db.query(
        'CREATE TEMP TABLE t AS SELECT 41 AS x; INSERT INTO t VALUES (1); SELECT sum(x) AS s FROM t -- done;',
      );
      expect(r.columns.map((c) => c.name)).toEqual(['s']);
      expect(r.rows).toEqual([[42]]);
      await expect(db.query('-- nothing')).rejects.toThrow(QueryError);
    } finally {
      db.close();
    }
  });

  it('a bad query fails with the engine message on one line', async () => {
    const db = await LakeDb.open(dir);
    try {
      await expect(db.query('SELEC 1')).rejects.toThrow(QueryError);
      const err = await db.query('SELECT nope FROM spans').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QueryError);
      expect((err as Error).message).toMatch(/^Binder Error: .*nope/);
      expect((err as Error).message).not.toContain('\n');
    } finally {
      db.close();
    }
  });
});
