/**
 * Reads a lake (or any Parquet) back with DuckDB, the way Athena would see it. Rows come back as
 * plain JS objects: BIGINT as number when safe, timestamps as epoch ms, maps as objects, blobs as
 * Uint8Array, lists as arrays.
 */
import {
  DuckDBInstance,
  DuckDBMapValue,
  DuckDBTypeId,
  type DuckDBValueConverter,
  type JS,
  JSDuckDBValueConverter,
} from '@duckdb/node-api';

const toPlain: DuckDBValueConverter<unknown> = (value, type, self) => {
  if (type.typeId === DuckDBTypeId.MAP && value instanceof DuckDBMapValue && 'keyType' in type) {
    // fromEntries defines own properties, so a key such as `__proto__` stays a plain key.
    return Object.fromEntries(
      value.entries.map((e) => [
        String(self(e.key, type.keyType, self)),
        self(e.value, type.valueType, self),
      ]),
    );
  }
  const v = JSDuckDBValueConverter(value, type, self as DuckDBValueConverter<JS>);
  if (v instanceof Date) return v.getTime();
  // Blobs come back as Buffers; tests compare with the plain Uint8Arrays the rows held.
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  return v;
};

/** Runs `fn` with a query function on a fresh in-memory DuckDB, closed afterwards. */
export async function withDuckDb<T>(
  fn: (q: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>,
): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return await fn(async (sql) => {
      const reader = await connection.runAndReadAll(sql);
      return reader.convertRowObjects(toPlain) as Record<string, unknown>[];
    });
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A `read_parquet(...)` table expression over every file of a lake table, Hive partitions included. */
export function lakeGlob(lakeDir: string, table: string): string {
  const pattern = `${lakeDir.replace(/\/+$/, '')}/${table}/**/*.parquet`.replaceAll("'", "''");
  return `read_parquet('${pattern}', hive_partitioning = true)`;
}
