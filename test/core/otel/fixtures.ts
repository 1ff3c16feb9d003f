import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DecodedRecord } from '../../../lib/core/model.js';
import { decodeOtelRecord } from '../../../lib/core/otel/decode.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
export const OTEL_FIXTURES = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'otel-public');

/** A fixture file parsed: one value for `.json`, one per line for `.jsonl`. */
export function loadFixture(name: string): unknown[] {
  const text = readFileSync(path.join(OTEL_FIXTURES, name), 'utf8');
  if (name.endsWith('.jsonl')) {
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l));
  }
  return [JSON.parse(text)];
}

/** Decodes every value of a fixture; fails the test when one is not recognized as OpenTelemetry. */
export function decodeFixture(name: string): DecodedRecord {
  const out = { traces: [], loose: [], rejections: [], ignored: [] } as {
    -readonly [K in keyof DecodedRecord]: DecodedRecord[K];
  };
  loadFixture(name).forEach((value, i) => {
    const decoded = decodeOtelRecord({ value, location: { source: name, line: i + 1 } });
    if (!decoded) throw new Error(`${name} line ${i + 1} was not recognized as OpenTelemetry`);
    out.traces.push(...decoded.traces);
    out.loose.push(...decoded.loose);
    out.rejections.push(...decoded.rejections);
    out.ignored.push(...decoded.ignored);
  });
  return out;
}
