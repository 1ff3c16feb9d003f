/**
 * Rows for any lake table, made from its column definitions: a fast-check arbitrary for property
 * tests and a seeded generator for large tables.
 */

import fc from 'fast-check';
import { seededRandom } from '../../lib/core/regress/stats.js';
import type { ColumnDef, ColumnType, TableDef } from '../../lib/core/tables.js';

/** 1970 .. 2100, whole milliseconds (the column's precision). */
const MAX_TS = Date.UTC(2100, 0, 1);

function valueArb(type: ColumnType): fc.Arbitrary<unknown> {
  const str = fc.string({ unit: 'grapheme', maxLength: 24 });
  switch (type) {
    case 'string':
      return str;
    case 'int32':
      return fc.integer();
    case 'int64':
      return fc.maxSafeInteger();
    case 'float64':
      return fc.double({ noNaN: true });
    case 'bool':
      return fc.boolean();
    case 'timestamp_ms':
      return fc.integer({ min: 0, max: MAX_TS });
    case 'binary':
      return fc.uint8Array({ maxLength: 40 });
    case 'list_string':
      return fc.array(str, { maxLength: 5 });
    case 'map_string_string':
      return fc.dictionary(str, str, { maxKeys: 4 });
  }
}

function columnArb(col: ColumnDef): fc.Arbitrary<unknown> {
  const v = valueArb(col.type);
  return col.nullable ? fc.option(v, { nil: null, freq: 4 }) : v;
}

/** Arbitrary rows of a table (every column present, nulls only where the table allows them). */
export function rowArb(def: TableDef): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(Object.fromEntries(def.columns.map((col) => [col.name, columnArb(col)])));
}

/** mulberry32, seeded: the same generator the regression statistics use. */
export const prng = seededRandom;

const WORDS = [
  'orders',
  'DynamoDB',
  'GetItem',
  'S3',
  'payments',
  'überweisung',
  '注文',
  '🚀 launch',
  '',
  'a > b',
];

/** `n` pseudo-random rows of a table, about 10 % nulls in nullable columns. */
export function randomRows(def: TableDef, n: number, seed = 1): Record<string, unknown>[] {
  const rnd = prng(seed);
  const pick = () => WORDS[Math.floor(rnd() * WORDS.length)]!;
  const text = () => `${pick()}-${Math.floor(rnd() * 1e6).toString(16)}`;
  const gen = (type: ColumnType): unknown => {
    switch (type) {
      case 'string':
        return text();
      case 'int32':
        return Math.floor(rnd() * 2 ** 32) - 2 ** 31;
      case 'int64':
        return Math.floor(rnd() * Number.MAX_SAFE_INTEGER);
      case 'float64':
        return rnd() * 1e4;
      case 'bool':
        return rnd() < 0.5;
      case 'timestamp_ms':
        return Math.floor(rnd() * MAX_TS);
      case 'binary':
        return Uint8Array.from({ length: Math.floor(rnd() * 16) }, () => Math.floor(rnd() * 256));
      case 'list_string':
        return Array.from({ length: Math.floor(rnd() * 4) }, text);
      case 'map_string_string':
        return Object.fromEntries(
          Array.from({ length: Math.floor(rnd() * 4) }, (_, i) => [`k${i}${pick()}`, text()]),
        );
    }
  };
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = {};
    for (const col of def.columns) row[col.name] = col.nullable && rnd() < 0.1 ? null : gen(col.type);
    rows.push(row);
  }
  return rows;
}

/** A row of a table made by hand to hit edge cases: unicode, empty strings/lists/maps, extremes. */
export function edgeRow(def: TableDef, variant: 0 | 1): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const col of def.columns) {
    if (variant === 1 && col.nullable) {
      row[col.name] = null;
      continue;
    }
    switch (col.type) {
      case 'string':
        row[col.name] = variant === 0 ? 'Grüße, 世界 👋🏽 — "quoted" \\ \n tab\t' : '';
        break;
      case 'int32':
        row[col.name] = variant === 0 ? 2 ** 31 - 1 : -(2 ** 31);
        break;
      case 'int64':
        row[col.name] = variant === 0 ? Number.MAX_SAFE_INTEGER : 0;
        break;
      case 'float64':
        row[col.name] = variant === 0 ? 0.1 + 0.2 : 1e-300;
        break;
      case 'bool':
        row[col.name] = variant === 0;
        break;
      case 'timestamp_ms':
        row[col.name] = variant === 0 ? Date.UTC(2026, 0, 1, 10, 5, 0, 123) : 0;
        break;
      case 'binary':
        row[col.name] = variant === 0 ? Uint8Array.of(0, 255, 1, 0) : new Uint8Array(0);
        break;
      case 'list_string':
        row[col.name] = variant === 0 ? ['1-5f0b2c3a-1234567890abcdef12345678', 'ü', ''] : [];
        break;
      case 'map_string_string':
        row[col.name] =
          variant === 0 ? { 'http.route': '/orders/{id}', ключ: 'значение', '': 'empty key' } : {};
        break;
    }
  }
  return row;
}

/** What a row should read back as: missing values become null (the lake has no "absent"). */
export function expectedRow(def: TableDef, row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(def.columns.map((col) => [col.name, row[col.name] ?? null]));
}
