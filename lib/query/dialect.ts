/**
 * The small dialect shim that lets the saved Athena (Trino) queries run unchanged on DuckDB.
 *
 * 1. Functions Athena has and DuckDB lacks become DuckDB macros with the same meaning
 *    (`ATHENA_MACROS`). Syntax both engines share (`INTERVAL '1' DAY`, `max_by`, `CROSS JOIN
 *    UNNEST(x) AS t(v)`, `CAST(dt AS VARCHAR)`, `date_diff('minute', a, b)`) needs nothing.
 * 2. `pinNow` evaluates a query "as of" a given time: `current_timestamp`, `now()`,
 *    `localtimestamp` and `current_date` outside string literals, quoted identifiers and
 *    comments become that time. Saved queries say "the last 24 hours"; pinning answers them for a
 *    past incident or a demo lake made with a fixed `--start`.
 *
 * Not covered (rewrite these by hand): Trino's `date_add('day', n, ts)` and `cardinality(array)`,
 * whose names DuckDB already uses with other signatures.
 */

/** `CREATE MACRO` statements for Athena functions missing from DuckDB. */
export const ATHENA_MACROS: readonly string[] = [
  // Athena's approx_percentile is an estimate; the exact quantile is within its error.
  'CREATE OR REPLACE MACRO approx_percentile(x, p) AS quantile_cont(x, p)',
  'CREATE OR REPLACE MACRO approx_distinct(x) AS approx_count_distinct(x)',
  'CREATE OR REPLACE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)',
  "CREATE OR REPLACE MACRO to_iso8601(t) AS strftime(CAST(t AS TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S.%gZ')",
  'CREATE OR REPLACE MACRO regexp_like(s, p) AS regexp_matches(s, p)',
  'CREATE OR REPLACE MACRO to_unixtime(t) AS epoch_ms(CAST(t AS TIMESTAMPTZ)) / 1000.0',
  'CREATE OR REPLACE MACRO from_unixtime(n) AS to_timestamp(n)',
  'CREATE OR REPLACE MACRO array_join(l, sep) AS array_to_string(l, sep)',
];

type Token = { readonly text: string; readonly code: boolean };

/**
 * Splits SQL into code and non-code runs (string literals, quoted identifiers, comments) so a
 * rewrite touches code only. Unterminated literals run to the end, as the engine would see them.
 */
function split(sql: string): Token[] {
  const out: Token[] = [];
  let code = '';
  let i = 0;
  const flush = () => {
    if (code) out.push({ text: code, code: true });
    code = '';
  };
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    let end = -1;
    if (c === "'" || c === '"') {
      // A doubled quote inside a literal is an escaped quote.
      let j = i + 1;
      for (;;) {
        const k = sql.indexOf(c, j);
        if (k < 0) {
          j = sql.length;
          break;
        }
        if (sql[k + 1] === c) {
          j = k + 2;
          continue;
        }
        j = k + 1;
        break;
      }
      end = j;
    } else if (c === '-' && next === '-') {
      const k = sql.indexOf('\n', i);
      end = k < 0 ? sql.length : k;
    } else if (c === '/' && next === '*') {
      const k = sql.indexOf('*/', i + 2);
      end = k < 0 ? sql.length : k + 2;
    }
    if (end < 0) {
      code += c;
      i++;
    } else {
      flush();
      out.push({ text: sql.slice(i, end), code: false });
      i = end;
    }
  }
  flush();
  return out;
}

const NOW_WORDS = /\b(current_timestamp|localtimestamp|current_date)\b(\s*\(\s*\))?|\bnow\s*\(\s*\)/gi;

/**
 * Replaces the current time in `sql` with `nowMs` (UTC), leaving literals and comments alone.
 *
 * @example
 * pinNow("SELECT * FROM t WHERE ts >= current_timestamp - INTERVAL '1' DAY", Date.UTC(2026, 2, 2, 11))
 * // => "SELECT * FROM t WHERE ts >= TIMESTAMPTZ '2026-03-02 11:00:00.000+00:00' - INTERVAL '1' DAY"
 */
export function pinNow(sql: string, nowMs: number): string {
  const iso = new Date(nowMs).toISOString();
  const ts = `TIMESTAMPTZ '${iso.slice(0, 10)} ${iso.slice(11, 23)}+00:00'`;
  return split(sql)
    .map((t) =>
      t.code
        ? t.text.replace(NOW_WORDS, (_m, word: string | undefined) =>
            word?.toLowerCase() === 'current_date' ? `DATE '${iso.slice(0, 10)}'` : ts,
          )
        : t.text,
    )
    .join('');
}
