/**
 * An in-memory DuckDB over a local lake folder: one view per lake table (see `views.ts`), the
 * Athena dialect shim, and the session time zone set to UTC so timestamps read as they are stored.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { LakeError, TracelakeError } from '../core/errors.js';
import type { TableName } from '../core/tables.js';
import { type Cell, toCell } from './cell.js';
import { ATHENA_MACROS, pinNow } from './dialect.js';
import { lakeFiles, readParquetSql, viewSql } from './views.js';

export interface QueryColumn {
  readonly name: string;
  /** DuckDB type, e.g. `VARCHAR`, `TIMESTAMP`, `VARCHAR[]`. */
  readonly type: string;
}

export interface QueryResult {
  readonly columns: readonly QueryColumn[];
  readonly rows: readonly (readonly Cell[])[];
}

export interface LakeDbOptions {
  /** Evaluate `current_timestamp` and friends as this time (epoch ms); default the real clock. */
  readonly nowMs?: number;
  /** Only some files: by table and path relative to the table folder (e.g. `dt=2026-03-02/…`). */
  readonly keep?: (table: TableName, relPath: string) => boolean;
}

/** Thrown for a query the engine rejects: the message is DuckDB's first line. */
export class QueryError extends TracelakeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QueryError';
  }
}

/** The first line of an engine message, which names the problem (`Parser Error: …`). */
function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line =
    text
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? 'query failed';
  // The statement splitter wraps the parser's message; the parser's own words are the clear part.
  return line.replace(/^Failed to extract statements: /, '');
}

export class LakeDb {
  /** Parquet files per view. */
  readonly files: Readonly<Record<TableName, number>>;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    files: Record<TableName, number>,
    private readonly nowMs: number | undefined,
  ) {
    this.files = files;
  }

  /**
   * Opens views over `lakeDir` (a folder; it need not hold every table).
   *
   * @throws LakeError when DuckDB cannot start or a Parquet file cannot be read.
   */
  static async open(lakeDir: string, options: LakeDbOptions = {}): Promise<LakeDb> {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const files = {} as Record<TableName, number>;
    try {
      await connection.run("SET TimeZone = 'UTC'");
      for (const macro of ATHENA_MACROS) await connection.run(macro);
      for (const { def, files: list } of lakeFiles(lakeDir, options.keep)) {
        let present: Set<string> | undefined;
        if (list.length) {
          const described = await connection.runAndReadAll(
            `DESCRIBE SELECT * FROM ${readParquetSql(def, list)}`,
          );
          present = new Set(described.getRowObjectsJS().map((r) => String(r.column_name)));
        }
        await connection.run(viewSql(def, list, present));
        files[def.name] = list.length;
      }
    } catch (err) {
      connection.closeSync();
      instance.closeSync();
      throw new LakeError(`cannot open the lake at ${lakeDir}: ${firstLine(err)}`, { cause: err });
    }
    return new LakeDb(instance, connection, files, options.nowMs);
  }

  /**
   * Runs one SQL statement (or several; the last one's rows are returned).
   *
   * @throws QueryError with the engine's message when the SQL is wrong or cannot run.
   */
  async query(sql: string): Promise<QueryResult> {
    const text = this.nowMs === undefined ? sql : pinNow(sql, this.nowMs);
    let reader: Awaited<ReturnType<DuckDBConnection['runAndReadAll']>>;
    try {
      // Statement by statement, so a script (CREATE …; SELECT …) returns its last result.
      const statements = await this.connection.extractStatements(text);
      if (statements.count === 0) throw new Error('no SQL statement given');
      for (let i = 0; i < statements.count - 1; i++) await (await statements.prepare(i)).run();
      reader = await (await statements.prepare(statements.count - 1)).runAndReadAll();
    } catch (err) {
      throw new QueryError(firstLine(err), { cause: err });
    }
    const columns = reader.columnNames().map((name, i) => ({ name, type: reader.columnType(i).toString() }));
    return { columns, rows: reader.convertRows(toCell) };
  }

  /** Rows as objects keyed by column name (later duplicates of a name win). */
  async objects(sql: string): Promise<Record<string, Cell>[]> {
    const r = await this.query(sql);
    return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i] ?? null])));
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
