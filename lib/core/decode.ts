/**
 * One entry point for any raw record: X-Ray shapes first, then OpenTelemetry shapes, else a
 * rejection that says what was expected.
 */
import type { DecodedRecord } from './model.js';
import { decodeOtelRecord } from './otel/decode.js';
import type { RawRecord } from './ports.js';
import { decodeXRayRecord } from './xray/decode.js';

const MAX_RAW = 64 * 1024;

/**
 * Decodes a record of any supported format, detected by content.
 *
 * @example
 * decodeRecord({ value: { Traces: [] }, location: { source: 'a.json' } }).traces.length === 0
 */
export function decodeRecord(record: RawRecord): DecodedRecord {
  const xray = decodeXRayRecord(record);
  if (xray) return xray;
  const otel = decodeOtelRecord(record);
  if (otel) return otel;
  return {
    traces: [],
    loose: [],
    ignored: [],
    rejections: [
      {
        location: record.location,
        reason: `not a recognised document: expected an X-Ray BatchGetTraces response, trace, segment or subsegment document, or OpenTelemetry spans (OTLP JSON or aws/spans events); got ${describeShape(record.value)}`,
        raw: truncate(safeStringify(record.value)),
      },
    ],
  };
}

function describeShape(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') {
    const keys = Object.keys(value as object).slice(0, 5);
    return keys.length
      ? `an object with keys ${keys.map((k) => JSON.stringify(k)).join(', ')}`
      : 'an empty object';
  }
  return `a ${typeof value}`;
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function truncate(text: string): string {
  return text.length > MAX_RAW ? `${text.slice(0, MAX_RAW)}…` : text;
}
