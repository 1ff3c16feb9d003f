import { describe, expect, it } from 'vitest';
import { pinNow } from '../../lib/query/dialect.js';
import { LakeDb } from '../../lib/query/lake-db.js';

const AT = Date.UTC(2026, 2, 2, 11, 0, 0, 250);
const TS = "TIMESTAMPTZ '2026-03-02 11:00:00.250+00:00'";

describe('pinNow', () => {
  it('replaces the current time in code, in any case and spelling', () => {
    expect(pinNow("SELECT * FROM t WHERE ts >= current_timestamp - INTERVAL '1' DAY", AT)).toBe(
      `SELECT * FROM t WHERE ts >= ${TS} - INTERVAL '1' DAY`,
    );
    expect(pinNow('select NOW(), Current_Timestamp, localtimestamp, current_date', AT)).toBe(
      `select ${TS}, ${TS}, ${TS}, DATE '2026-03-02'`,
    );
  });

  it('leaves string literals, quoted identifiers, comments and longer names alone', () => {
    const sql = [
      "SELECT 'current_timestamp' AS a, 'it''s now()' AS b, \"current_date\" AS c,",
      '  my_current_timestamp, current_timestamps -- current_timestamp',
      '/* now() */ FROM t',
    ].join('\n');
    expect(pinNow(sql, AT)).toBe(sql);
  });

  it('handles an unterminated literal as the engine would (no rewrite inside it)', () => {
    expect(pinNow("SELECT 'current_date", AT)).toBe("SELECT 'current_date");
  });
});

describe('Athena functions on DuckDB', () => {
  it('have the Athena meaning', async () => {
    const db = await LakeDb.open('/nonexistent-lake-folder');
    try {
      const [row] = await db.objects(`
        SELECT approx_percentile(x, 0.5) AS median,
               approx_distinct(x % 3) AS distinct3,
               to_iso8601(from_iso8601_timestamp('2026-03-02T09:05:00Z')) AS iso,
               regexp_like('orders-api', '^orders') AS like1,
               to_unixtime(from_iso8601_timestamp('1970-01-01T00:01:00Z')) AS unix,
               to_iso8601(from_unixtime(60)) AS from_unix,
               array_join(['a', 'b'], ',') AS joined
        FROM range(101) t(x)`);
      expect(row).toEqual({
        median: 50,
        distinct3: 3,
        iso: '2026-03-02T09:05:00.000Z',
        like1: true,
        unix: 60,
        from_unix: '1970-01-01T00:01:00.000Z',
        joined: 'a,b',
      });
    } finally {
      db.close();
    }
  });

  it('evaluate a pinned current time', async () => {
    const db = await LakeDb.open('/nonexistent-lake-folder', { nowMs: AT });
    try {
      const [row] = await db.objects("SELECT current_timestamp - INTERVAL '1' DAY AS t, current_date AS d");
      expect(row).toEqual({ t: new Date(AT - 86_400_000), d: '2026-03-02' });
    } finally {
      db.close();
    }
  });
});
