/**
 * Query results for people and machines: an aligned table, CSV (RFC 4180 quoting, `\n` line ends) or JSON (an array of
 * objects). Timestamps print as UTC (`2026-03-02 09:05:00.000` in a table or CSV, ISO 8601 in
 * JSON), blobs as base64, lists and maps as JSON in CSV.
 */
import { type Style, table } from '../cli/format.js';
import type { Cell } from './cell.js';
import type { QueryResult } from './lake-db.js';

export type OutputFormat = 'table' | 'csv' | 'json';

export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'csv', 'json'];

function sqlTime(d: Date): string {
  if (Number.isNaN(d.getTime())) return 'invalid';
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

function base64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/** A cell as a JSON value: exact numbers, ISO times, base64 blobs, big integers as strings. */
export function jsonCell(c: Cell): unknown {
  if (c === null || typeof c === 'boolean' || typeof c === 'string') return c;
  if (typeof c === 'number') return Number.isFinite(c) ? c : String(c);
  if (typeof c === 'bigint') return c.toString();
  if (c instanceof Date) return Number.isNaN(c.getTime()) ? null : c.toISOString();
  if (c instanceof Uint8Array) return base64(c);
  if (Array.isArray(c)) return c.map(jsonCell);
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, jsonCell(v as Cell)]));
}

/** A cell as CSV text: scalars plain, nested values as JSON, NULL as an empty field. */
export function textCell(c: Cell): string {
  if (c === null) return '';
  if (typeof c === 'string') return c;
  if (typeof c === 'number' || typeof c === 'bigint' || typeof c === 'boolean') return String(c);
  if (c instanceof Date) return sqlTime(c);
  if (c instanceof Uint8Array) return base64(c);
  return JSON.stringify(jsonCell(c));
}

/** A cell for the aligned table: short floats, `NULL`, `[a, b]` lists, `{k=v}` maps, blob sizes. */
export function displayCell(c: Cell, maxWidth = 60): string {
  let s: string;
  if (c === null) s = 'NULL';
  else if (typeof c === 'number') s = displayNumber(c);
  else if (typeof c === 'string') s = c.replace(/[\r\n\t]+/g, ' ');
  else if (typeof c === 'bigint' || typeof c === 'boolean') s = String(c);
  else if (c instanceof Date) s = sqlTime(c);
  else if (c instanceof Uint8Array) s = `<${c.byteLength} bytes>`;
  else if (Array.isArray(c)) s = `[${c.map((v) => displayCell(v, Number.POSITIVE_INFINITY)).join(', ')}]`;
  else
    s = `{${Object.entries(c)
      .map(([k, v]) => `${k}=${displayCell(v as Cell, Number.POSITIVE_INFINITY)}`)
      .join(', ')}}`;
  return s.length > maxWidth ? `${s.slice(0, maxWidth - 1)}…` : s;
}

/** Integers as they are; other numbers to 4 decimals, or 3 significant digits when tiny (p-values). */
function displayNumber(n: number): string {
  if (!Number.isFinite(n) || Number.isInteger(n)) return String(n);
  const a = Math.abs(n);
  if (a !== 0 && a < 0.001) return String(Number(n.toPrecision(3)));
  return String(Number(n.toFixed(4)));
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * The result in the chosen format, ending with a newline.
 *
 * @example
 * formatResult({ columns: [{ name: 'n', type: 'BIGINT' }], rows: [[3]] }, 'csv') // => 'n\n3\n'
 */
export function formatResult(result: QueryResult, format: OutputFormat, style?: Style): string {
  const names = result.columns.map((c) => c.name);
  if (format === 'json') {
    const objects = result.rows.map((row) => {
      // Own properties via entries, so a column named `__proto__` stays a column.
      return Object.fromEntries(names.map((n, i) => [n, jsonCell(row[i] ?? null)]));
    });
    return `${JSON.stringify(objects, null, 2)}\n`;
  }
  if (format === 'csv') {
    const lines = [names.map(csvField).join(',')];
    for (const row of result.rows)
      lines.push(names.map((_, i) => csvField(textCell(row[i] ?? null))).join(','));
    return `${lines.join('\n')}\n`;
  }
  const body = table(
    names,
    result.rows.map((row) => names.map((_, i) => displayCell(row[i] ?? null))),
    style,
  );
  const n = result.rows.length;
  const footer = `(${n} row${n === 1 ? '' : 's'})`;
  return `${body}\n${style ? style.dim(footer) : footer}\n`;
}
