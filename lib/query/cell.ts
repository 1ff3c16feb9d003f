/**
 * DuckDB values as plain JavaScript cells: what `tracelake query` prints and the report reads.
 * Timestamps become `Date`, 64-bit integers `number` when safe (`bigint` otherwise), maps plain
 * objects, blobs `Uint8Array`, dates and times their SQL text.
 */
import {
  DuckDBMapValue,
  DuckDBTypeId,
  type DuckDBValueConverter,
  type JS,
  JSDuckDBValueConverter,
} from '@duckdb/node-api';

export type Cell =
  | null
  | boolean
  | number
  | bigint
  | string
  | Date
  | Uint8Array
  | readonly Cell[]
  | { readonly [key: string]: Cell };

export const toCell: DuckDBValueConverter<Cell> = (value, type, self) => {
  if (value === null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.MAP:
      if (value instanceof DuckDBMapValue && 'keyType' in type) {
        // fromEntries defines own properties, so a key such as `__proto__` stays a plain key.
        return Object.fromEntries(
          value.entries.map((e) => [
            String(self(e.key, type.keyType, self)),
            self(e.value, type.valueType, self),
          ]),
        );
      }
      break;
    case DuckDBTypeId.DATE:
    case DuckDBTypeId.TIME:
    case DuckDBTypeId.TIME_TZ:
    case DuckDBTypeId.TIME_NS:
    case DuckDBTypeId.INTERVAL:
      return String(value);
    default:
      break;
  }
  const v = JSDuckDBValueConverter(value, type, self as DuckDBValueConverter<JS>) as unknown;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (v instanceof Uint8Array) return new Uint8Array(v);
  return v as Cell;
};
