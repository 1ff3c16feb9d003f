/**
 * Generated traffic in the two shapes the integration tests need: what the local X-Ray endpoint
 * serves, and the same traces as `BatchGetTraces` files for a file-based run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type DemoOptions, generateTraces } from '../../../lib/demo/generate.js';
import type { ServedTrace } from './xray-server.js';

export interface TestTraffic {
  readonly traces: ServedTrace[];
  /** Trace start times by ID (epoch ms of the earliest segment). */
  readonly startMs: Map<string, number>;
}

/** Deterministic traffic from the demo generator; broken documents are kept as they come. */
export function makeTraffic(options: DemoOptions): TestTraffic {
  const traces: ServedTrace[] = [];
  const startMs = new Map<string, number>();
  for (const t of generateTraces(options)) {
    traces.push({
      id: t.traceId,
      segments: t.segments.map((doc, i) => ({
        Id: typeof doc === 'string' ? `broken${i}`.padEnd(16, '0') : String(doc.id ?? ''),
        Document: typeof doc === 'string' ? doc : JSON.stringify(doc),
      })),
    });
    startMs.set(t.traceId, t.startMs);
  }
  return { traces, startMs };
}

/** Writes the traces as one `BatchGetTraces` response file, the way `tracelake run` reads them. */
export async function writeTrafficFile(dir: string, traffic: TestTraffic): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'batchgettraces.json');
  await writeFile(
    file,
    JSON.stringify({ Traces: traffic.traces.map((t) => ({ Id: t.id, Segments: t.segments })) }),
  );
  return file;
}
