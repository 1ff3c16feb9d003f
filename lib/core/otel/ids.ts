/**
 * Trace and span identifiers as OpenTelemetry writes them, normalised to the forms tracelake
 * stores: X-Ray trace IDs (`1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx`) and 16 lowercase hex span IDs.
 */

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const XRAY_TRACE_ID = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The outcome of reading one identifier: the normal form, or why it is not one. */
export type IdResult =
  | { readonly ok: true; readonly id: string }
  | { readonly ok: false; readonly problem: string };

/**
 * Reads an OpenTelemetry trace ID and returns it in X-Ray form. Accepts 32 hex digits in either
 * case (OTLP/JSON and `aws/spans`), an X-Ray ID, and the base64 form that some exporters emit by
 * applying the generic proto3 JSON mapping to the `bytes` field (the OTLP spec requires hex).
 *
 * @example
 * readTraceId('5B8EFFF798038103D269B633813FC60C')
 * // => { ok: true, id: '1-5b8efff7-98038103d269b633813fc60c' }
 * readTraceId('') // => { ok: false, problem: 'traceId "" is empty' }
 */
export function readTraceId(value: unknown): IdResult {
  if (typeof value !== 'string') return { ok: false, problem: `traceId is ${describe(value)}, not a string` };
  if (value === '') return { ok: false, problem: 'traceId "" is empty' };
  const lower = value.toLowerCase();
  const xray = XRAY_TRACE_ID.exec(lower);
  const hex = xray ? `${xray[1]}${xray[2]}` : HEX32.test(lower) ? lower : base64ToHex(value, 16);
  if (hex === null) return { ok: false, problem: `traceId "${clip(value)}" is not 32 hex digits` };
  if (/^0+$/.test(hex)) return { ok: false, problem: 'traceId is all zeros (invalid in W3C trace context)' };
  return { ok: true, id: toXrayTraceId(hex) };
}

/**
 * Reads a span ID (16 hex digits, either case, or its base64 form) and returns it in lowercase.
 *
 * @example readSpanId('EEE19B7EC3C1B174', 'spanId') // => { ok: true, id: 'eee19b7ec3c1b174' }
 */
export function readSpanId(value: unknown, field: string): IdResult {
  if (typeof value !== 'string')
    return { ok: false, problem: `${field} is ${describe(value)}, not a string` };
  if (value === '') return { ok: false, problem: `${field} "" is empty` };
  const lower = value.toLowerCase();
  const hex = HEX16.test(lower) ? lower : base64ToHex(value, 8);
  if (hex === null) return { ok: false, problem: `${field} "${clip(value)}" is not 16 hex digits` };
  if (hex === '0000000000000000') return { ok: false, problem: `${field} is all zeros` };
  return { ok: true, id: hex };
}

/**
 * The X-Ray form of a 32-hex W3C trace ID: the first 8 digits, then the other 24. The mapping is
 * one to one, so the same trace seen through X-Ray and through OpenTelemetry joins on `trace_id`.
 *
 * @example toXrayTraceId('687fef146c953a381404ee3a4b2b69f5') // => '1-687fef14-6c953a381404ee3a4b2b69f5'
 */
export function toXrayTraceId(hex32: string): string {
  return `1-${hex32.slice(0, 8)}-${hex32.slice(8)}`;
}

/**
 * The 32-hex W3C form of an X-Ray trace ID, or null when it is not one.
 *
 * @example fromXrayTraceId('1-687fef14-6c953a381404ee3a4b2b69f5') // => '687fef146c953a381404ee3a4b2b69f5'
 */
export function fromXrayTraceId(xrayId: string): string | null {
  const m = XRAY_TRACE_ID.exec(xrayId.toLowerCase());
  return m ? `${m[1]}${m[2]}` : null;
}

function base64ToHex(value: string, bytes: number): string | null {
  // Only the exact base64 length of the id can be one: 16 bytes -> 24 chars, 8 bytes -> 12 chars.
  if (value.length !== Math.ceil(bytes / 3) * 4 || !BASE64.test(value)) return null;
  let binary: string;
  try {
    binary = atob(value);
  } catch {
    return null;
  }
  if (binary.length !== bytes) return null;
  let hex = '';
  for (let i = 0; i < binary.length; i++) hex += binary.charCodeAt(i).toString(16).padStart(2, '0');
  return hex;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  return `a ${typeof value}`;
}

function clip(text: string): string {
  return text.length > 48 ? `${text.slice(0, 45)}...` : text;
}
