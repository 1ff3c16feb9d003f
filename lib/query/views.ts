/**
 * DuckDB views named like the Athena tables (`spans`, `subsegment_stats`, `regressions`,
 * `traces`) over a local lake folder, with the same columns in the same order as the Glue tables:
 * the table's columns from `lib/core/tables.ts`, then the Hive partition keys as strings.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { type ColumnType, TABLES, type TableDef, type TableName } from '../core/tables.js';

/** The DuckDB type of a column, matching its Glue type (`timestamp` is a UTC wall-clock time). */
export function duckType(type: ColumnType): string {
  switch (type) {
    case 'string':
      return 'VARCHAR';
    case 'int32':
      return 'INTEGER';
    case 'int64':
      return 'BIGINT';
    case 'float64':
      return 'DOUBLE';
    case 'bool':
      return 'BOOLEAN';
    case 'timestamp_ms':
      return 'TIMESTAMP';
    case 'binary':
      return 'BLOB';
    case 'list_string':
      return 'VARCHAR[]';
    case 'map_string_string':
      return 'MAP(VARCHAR, VARCHAR)';
  }
}

/** `"name"` with embedded quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `'text'` with embedded quotes doubled. */
export function quoteString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * Parquet objects of a table under a lake folder, sorted; temporary and hidden files left out.
 * `keep` filters on the path relative to the table folder (e.g. by `dt=` partition).
 */
export function tableFiles(lakeDir: string, table: TableName, keep?: (relPath: string) => boolean): string[] {
  const root = join(lakeDir, table);
  const out: string[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      if (name.startsWith('.') || name.startsWith('_')) continue;
      const p = join(dir, name);
      let isDir: boolean;
      try {
        isDir = statSync(p).isDirectory();
      } catch {
        continue;
      }
      if (isDir) walk(p);
      else if (name.endsWith('.parquet')) {
        const rel = relative(root, p).split(sep).join('/');
        if (!keep || keep(rel)) out.push(p);
      }
    }
  };
  walk(root);
  return out;
}

/** The `read_parquet(…)` table expression over the files of a table, Hive partitions as strings. */
export function readParquetSql(def: TableDef, files: readonly string[]): string {
  const types = def.partitionKeys.map((k) => `${quoteString(k)}: VARCHAR`).join(', ');
  const list = files.map(quoteString).join(', ');
  return `read_parquet([${list}], hive_partitioning = true, hive_types = {${types}}, union_by_name = true)`;
}

/**
 * The `CREATE VIEW` statement of a table over the given Parquet files; with no files, an empty
 * view with the same columns and types, so queries still bind. `present` names the columns the
 * files hold (default: all of them): a column added to the table after the files were written
 * reads as NULL.
 *
 * @example
 * viewSql(REGRESSIONS, [])
 * // => 'CREATE OR REPLACE VIEW "regressions" AS SELECT CAST(NULL AS TIMESTAMP) AS "window_start", … WHERE false'
 */
export function viewSql(def: TableDef, files: readonly string[], present?: ReadonlySet<string>): string {
  const has = (name: string) => files.length > 0 && (present === undefined || present.has(name));
  const cols = def.columns.map(
    (c) =>
      `CAST(${has(c.name) ? quoteIdent(c.name) : 'NULL'} AS ${duckType(c.type)}) AS ${quoteIdent(c.name)}`,
  );
  const parts = def.partitionKeys.map(
    (k) => `CAST(${has(k) ? quoteIdent(k) : 'NULL'} AS VARCHAR) AS ${quoteIdent(k)}`,
  );
  const select = [...cols, ...parts].join(', ');
  if (files.length === 0)
    return `CREATE OR REPLACE VIEW ${quoteIdent(def.name)} AS SELECT ${select} WHERE false`;
  return `CREATE OR REPLACE VIEW ${quoteIdent(def.name)} AS SELECT ${select} FROM ${readParquetSql(def, files)}`;
}

/** The lake tables and the Parquet files of each. */
export function lakeFiles(
  lakeDir: string,
  keep?: (table: TableName, relPath: string) => boolean,
): { def: TableDef; files: string[] }[] {
  return TABLES.map((def) => ({
    def,
    files: tableFiles(lakeDir, def.name, keep ? (rel) => keep(def.name, rel) : undefined),
  }));
}
