/** `tracelake query`: SQL over a local lake through DuckDB views named like the Athena tables. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTime } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import { formatResult, OUTPUT_FORMATS, type OutputFormat } from '../query/format.js';
import { LakeDb } from '../query/lake-db.js';
import { makeStyle } from './format.js';
import type { CommandContext } from './main.js';
import { parseFlags } from './main.js';

const USAGE = `Usage: tracelake query [options] "<SQL>"

Runs SQL on a local lake with DuckDB. The views spans, subsegment_stats, regressions and traces
have the columns of the Athena tables (partition keys dt and hour included, as strings), so the
saved Athena queries run unchanged; timestamps are UTC.

Options:
  --lake <dir>       the lake folder (default ./tracelake-demo/lake when it exists)
  --format <f>       table, csv or json (default: table on a terminal, csv otherwise)
  --json             same as --format json
  --file <path>      read the SQL from a file (e.g. infra/queries/slowest-subsegments-24h.sql)
  --at <time>        evaluate current_timestamp, now() and current_date as this time
                     (ISO 8601, epoch ms or now-3h): "the last 24 hours" of a past lake
  -h, --help         this help

Athena functions DuckDB lacks (approx_percentile, approx_distinct, from_iso8601_timestamp,
to_iso8601, regexp_like, to_unixtime, from_unixtime, array_join) are defined with the same meaning.

Examples:
  tracelake query "SELECT key, max(p99_ms) AS p99 FROM subsegment_stats GROUP BY key ORDER BY p99 DESC LIMIT 5"
  tracelake query --file infra/queries/regressions-with-traces.sql --format json`;

/** `--lake`, or the demo's lake when it exists. */
export function resolveLocalLake(ctx: CommandContext, lake: string | undefined, flag = '--lake'): string {
  if (lake === undefined) {
    const demo = resolve(ctx.cwd, 'tracelake-demo', 'lake');
    if (existsSync(demo)) return demo;
    throw new ConfigError(
      `${flag} is required (no ./tracelake-demo/lake here; run \`tracelake demo\` to make one)`,
    );
  }
  const dir = resolve(ctx.cwd, lake.startsWith('file://') ? fileURLToPath(lake) : lake);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new ConfigError(`${flag} "${lake}": no such folder`);
  return dir;
}

function outputFormat(values: { format?: string; json?: boolean }, tty: boolean): OutputFormat {
  if (values.json) {
    if (values.format !== undefined && values.format !== 'json')
      throw new ConfigError(`--json and --format "${values.format}" disagree`);
    return 'json';
  }
  if (values.format === undefined) return tty ? 'table' : 'csv';
  const f = values.format.toLowerCase();
  if (!(OUTPUT_FORMATS as readonly string[]).includes(f))
    throw new ConfigError(`--format "${values.format}": expected ${OUTPUT_FORMATS.join(', ')}`);
  return f as OutputFormat;
}

export const queryCommand = {
  usage: USAGE,
  async run(args: string[], ctx: CommandContext): Promise<number> {
    const { values, positionals } = parseFlags(args, {
      lake: { type: 'string' },
      format: { type: 'string' },
      json: { type: 'boolean' },
      file: { type: 'string' },
      at: { type: 'string' },
    });
    if (values.lake?.startsWith('s3://'))
      throw new ConfigError(
        `--lake "${values.lake}": query reads a local lake; query S3 with Athena (same tables) or copy the objects to a folder`,
      );
    let sql: string;
    if (values.file !== undefined) {
      if (positionals.length)
        throw new ConfigError('give the SQL either as an argument or with --file, not both');
      const path = resolve(ctx.cwd, values.file);
      try {
        sql = readFileSync(path, 'utf8');
      } catch (err) {
        throw new ConfigError(
          `--file "${values.file}": ${(err as NodeJS.ErrnoException).code ?? 'cannot read'}`,
          {
            cause: err,
          },
        );
      }
    } else {
      sql = positionals.join(' ');
    }
    if (sql.trim() === '') throw new ConfigError('no SQL given');
    const format = outputFormat(values, Boolean(ctx.stdout.isTTY));
    let nowMs: number | undefined;
    if (values.at !== undefined) {
      const t = parseTime(values.at, Date.now());
      if (t === null)
        throw new ConfigError(`--at "${values.at}": expected ISO 8601, epoch ms or now-<duration>`);
      nowMs = t;
    }
    const lake = resolveLocalLake(ctx, values.lake);
    const db = await LakeDb.open(lake, { nowMs });
    try {
      const result = await db.query(sql);
      const style = format === 'table' ? makeStyle(Boolean(ctx.stdout.isTTY), ctx.env) : undefined;
      ctx.stdout.write(formatResult(result, format, style));
      return 0;
    } finally {
      db.close();
    }
  },
};
