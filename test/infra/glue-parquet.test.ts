/**
 * The Glue tables in the template and the Parquet files the pipeline writes must agree column by
 * column, or Athena misreads the lake. Writes one real file per table with `encodeParquet`, reads
 * its schema back with DuckDB `DESCRIBE`, and compares names, order and types with the template.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeParquet } from '../../lib/adapters/parquet.js';
import type { ColumnType, TableDef } from '../../lib/core/tables.js';
import { TABLES } from '../../lib/core/tables.js';
import { ofType, synthesize } from './synth.js';

const synth = synthesize({}, { nag: false });
const dir = mkdtempSync(path.join(tmpdir(), 'tracelake-glue-'));
afterAll(() => {
  synth.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** A value of each column type, so every column (nullable ones too) holds data. */
function sample(type: ColumnType): unknown {
  switch (type) {
    case 'string':
      return 'x';
    case 'int32':
      return 7;
    case 'int64':
      return 9;
    case 'float64':
      return 1.5;
    case 'bool':
      return true;
    case 'timestamp_ms':
      return Date.UTC(2026, 0, 1, 10, 5);
    case 'binary':
      return new Uint8Array([1, 2, 3]);
    case 'list_string':
      return ['1-5759e988-bd862e3fe1be46a994272793'];
    case 'map_string_string':
      return { customer: 'gold' };
  }
}

function row(def: TableDef): Record<string, unknown> {
  return Object.fromEntries(def.columns.map((c) => [c.name, sample(c.type)]));
}

/** The Glue (Hive) type Athena would use for a DuckDB column type read from Parquet. */
function glueTypeOfDuckDb(duckType: string): string {
  const t = duckType.toUpperCase();
  const scalar: Record<string, string> = {
    VARCHAR: 'string',
    INTEGER: 'int',
    BIGINT: 'bigint',
    DOUBLE: 'double',
    BOOLEAN: 'boolean',
    BLOB: 'binary',
    TIMESTAMP: 'timestamp',
    TIMESTAMP_MS: 'timestamp',
    'TIMESTAMP WITH TIME ZONE': 'timestamp',
  };
  if (scalar[t]) return scalar[t];
  const list = /^(.+)\[\]$/.exec(t);
  if (list) return `array<${glueTypeOfDuckDb(list[1]!)}>`;
  const map = /^MAP\((.+), (.+)\)$/.exec(t);
  if (map) return `map<${glueTypeOfDuckDb(map[1]!)},${glueTypeOfDuckDb(map[2]!)}>`;
  throw new Error(`no Glue type for DuckDB type ${duckType}`);
}

async function describeParquet(file: string): Promise<{ name: string; type: string }[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `DESCRIBE SELECT * FROM read_parquet('${file.replaceAll("'", "''")}')`,
    );
    return reader
      .getRowObjectsJS()
      .map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const glueTables = ofType(synth.json, 'AWS::Glue::Table').map(([, t]) => {
  const input = t.Properties!.TableInput as {
    Name: string;
    StorageDescriptor: { Columns: { Name: string; Type: string }[] };
  };
  return { name: input.Name, columns: input.StorageDescriptor.Columns };
});

describe('Glue columns equal the Parquet files the pipeline writes', () => {
  for (const def of TABLES) {
    it(`${def.name}: same names, order and types`, async () => {
      const file = path.join(dir, `${def.name}.parquet`);
      writeFileSync(file, await encodeParquet(def, [row(def)]));
      const parquet = await describeParquet(file);
      const glue = glueTables.find((t) => t.name === def.name);
      expect(glue, def.name).toBeDefined();
      expect(parquet.map((c) => c.name)).toEqual(glue!.columns.map((c) => c.Name));
      expect(parquet.map((c) => [c.name, glueTypeOfDuckDb(c.type)])).toEqual(
        glue!.columns.map((c) => [c.Name, c.Type]),
      );
    });
  }

  it('would notice a drift: a file with a column type changed does not match', async () => {
    const def = TABLES.find((t) => t.name === 'traces')!;
    const drifted: TableDef = {
      ...def,
      columns: def.columns.map((c) => (c.name === 'http_status' ? { ...c, type: 'string' } : c)),
    };
    const file = path.join(dir, 'drifted.parquet');
    writeFileSync(file, await encodeParquet(drifted, [{ ...row(def), http_status: '200' }]));
    const parquet = await describeParquet(file);
    const glue = glueTables.find((t) => t.name === 'traces')!;
    expect(parquet.map((c) => [c.name, glueTypeOfDuckDb(c.type)])).not.toEqual(
      glue.columns.map((c) => [c.Name, c.Type]),
    );
  });
});
