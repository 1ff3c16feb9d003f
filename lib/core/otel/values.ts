/**
 * Reading OpenTelemetry values the two ways they arrive: `aws/spans` events carry attributes as
 * plain maps with JSON values; OTLP/JSON carries `[{key, value: {stringValue | intValue | …}}]`
 * lists. Both become one plain map so the span mapping reads a single shape.
 */

/** A plain JSON object. */
export type JsonObject = Record<string, unknown>;

/** Attributes as a plain map from dotted key to value (string, number, boolean, array, object). */
export type Attributes = Readonly<Record<string, unknown>>;

/**
 * true for a non-null, non-array object.
 *
 * @example isObject({}) === true; isObject([]) === false
 */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns either attribute encoding into a plain map. Anything else (absent, malformed) gives an
 * empty map: attributes only refine a span, so a bad attribute never costs the span.
 *
 * @example
 * attributesOf([{ key: 'http.status_code', value: { intValue: '502' } }]) // => { 'http.status_code': 502 }
 * attributesOf({ 'rpc.system': 'aws-api' }) // => { 'rpc.system': 'aws-api' }
 */
export function attributesOf(value: unknown): Attributes {
  if (isObject(value)) return value;
  if (!Array.isArray(value)) return {};
  const out: Record<string, unknown> = {};
  for (const entry of value) {
    if (!isObject(entry) || typeof entry.key !== 'string') continue;
    out[entry.key] = anyValue(entry.value);
  }
  return out;
}

/**
 * Decodes an OTLP `AnyValue`. 64-bit integers arrive as decimal strings (proto3 JSON mapping);
 * they become numbers, which is exact for every value a status code or count can take.
 *
 * @example anyValue({ arrayValue: { values: [{ stringValue: 'orders' }] } }) // => ['orders']
 */
export function anyValue(value: unknown): unknown {
  if (!isObject(value)) return null;
  if ('stringValue' in value) return typeof value.stringValue === 'string' ? value.stringValue : null;
  if ('boolValue' in value) return value.boolValue === true || value.boolValue === 'true';
  if ('intValue' in value) return toNumber(value.intValue);
  if ('doubleValue' in value) return toNumber(value.doubleValue);
  if ('bytesValue' in value) return typeof value.bytesValue === 'string' ? value.bytesValue : null;
  if ('arrayValue' in value) {
    const values = isObject(value.arrayValue) ? value.arrayValue.values : undefined;
    return Array.isArray(values) ? values.map(anyValue) : [];
  }
  if ('kvlistValue' in value) {
    const values = isObject(value.kvlistValue) ? value.kvlistValue.values : undefined;
    return attributesOf(Array.isArray(values) ? values : []);
  }
  return null;
}

/**
 * The first of `keys` whose value is a non-empty string (numbers are written out, since some
 * instrumentations record ports or codes as numbers and others as strings).
 *
 * @example stringAttr({ 'http.method': 'GET' }, 'http.request.method', 'http.method') // => 'GET'
 */
export function stringAttr(attrs: Attributes, ...keys: string[]): string | null {
  for (const key of keys) {
    const v = attrs[key];
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  }
  return null;
}

/**
 * The first of `keys` whose value is a finite number or a numeric string.
 *
 * @example numberAttr({ 'http.status_code': '502' }, 'http.status_code') // => 502
 */
export function numberAttr(attrs: Attributes, ...keys: string[]): number | null {
  for (const key of keys) {
    const n = toNumber(attrs[key]);
    if (n !== null) return n;
  }
  return null;
}

/**
 * A boolean attribute (`true`/`false` or their string forms), or null when absent.
 *
 * @example boolAttr({ 'aws.xray.fault': 'true' }, 'aws.xray.fault') // => true
 */
export function boolAttr(attrs: Attributes, key: string): boolean | null {
  const v = attrs[key];
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  return null;
}

/**
 * The first string of an attribute that may be a string or an array of strings
 * (`aws.dynamodb.table_names` is an array by the conventions, a plain string in some SDKs).
 *
 * @example firstString({ t: ['orders', 'users'] }, 't') // => 'orders'
 */
export function firstString(attrs: Attributes, key: string): string | null {
  const v = attrs[key];
  if (typeof v === 'string') return v === '' ? null : v;
  if (Array.isArray(v)) {
    const first = v.find((x): x is string => typeof x === 'string' && x !== '');
    return first ?? null;
  }
  return null;
}

/**
 * A finite number from a JSON number or a decimal string; null otherwise.
 *
 * @example toNumber('1544712660000000000') // => 1544712660000000000
 */
export function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/.test(value)) return Number(value);
  return null;
}

/**
 * Epoch milliseconds (float) from a nanosecond count given as a JSON number or a decimal string.
 * A decimal string is split so the whole milliseconds are exact before the fraction is added; a
 * JSON number has already been rounded to float64 by `JSON.parse` (256 ns at today's epoch). Either
 * way the result is a float64 of epoch milliseconds, whose step is about 0.24 µs: sub-microsecond
 * detail is lost, which is below the precision tracelake stores.
 *
 * @example nanosToMs('1544712660000500000') // => 1544712660000.5
 * @example nanosToMs(null) // => null
 */
export function nanosToMs(value: unknown): number | null {
  if (typeof value === 'string' && /^\d{7,}$/.test(value)) {
    return Number(value.slice(0, -6)) + Number(value.slice(-6)) / 1e6;
  }
  const n = toNumber(value);
  return n === null ? null : n / 1e6;
}
