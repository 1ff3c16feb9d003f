import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LakeError } from '../../lib/core/errors.js';
import { DEFAULT_WINDOW_MS, windowStart } from '../../lib/core/model.js';
import { type DemoManifest, demoFileName, MANIFEST_FILE, writeDemoTraces } from '../../lib/demo/write.js';
import { brokenReason, checkTrace, type Doc, isObject } from './xray-shape.js';

/** What a recount of the written files finds, independent of the generator's own counters. */
interface Recount {
  traces: number;
  documents: number;
  complete: number;
  inProgress: number;
  broken: number;
  problems: string[];
}

async function recount(dir: string, files: readonly string[]): Promise<Recount> {
  const out: Recount = { traces: 0, documents: 0, complete: 0, inProgress: 0, broken: 0, problems: [] };
  for (const name of files) {
    const body: unknown = JSON.parse(await readFile(path.join(dir, name), 'utf8'));
    if (!isObject(body) || !Array.isArray(body.Traces))
      throw new Error(`${name} is not a BatchGetTraces response`);
    expect(body.UnprocessedTraceIds).toEqual([]);
    for (const trace of body.Traces as Doc[]) {
      out.traces += 1;
      const traceId = String(trace.Id);
      // Every trace sits in the file of its window; the trace id carries its start second.
      const startMs = Number.parseInt(traceId.slice(2, 10), 16) * 1000;
      if (demoFileName(windowStart(startMs, DEFAULT_WINDOW_MS)) !== name)
        out.problems.push(`${traceId} in ${name}`);
      const docs: Doc[] = [];
      for (const segment of trace.Segments as Doc[]) {
        out.documents += 1;
        expect(typeof segment.Document).toBe('string');
        const text = segment.Document as string;
        if (brokenReason(text) !== null) {
          out.broken += 1;
          continue;
        }
        const doc = JSON.parse(text) as Doc;
        expect(segment.Id).toBe(doc.id);
        docs.push(doc);
      }
      if (docs.length === 0) continue;
      const check = checkTrace(traceId, docs);
      out.complete += check.completeSpans;
      out.inProgress += check.inProgressSpans;
      out.problems.push(...check.problems.map((p) => `${traceId}: ${p}`));
      if (check.completeSpans > 0) {
        const starts = docs.map((d) => d.start_time as number);
        const ends = docs.map((d) => d.end_time as number);
        expect(trace.Duration).toBeCloseTo(Math.max(...ends) - Math.min(...starts), 5);
      } else {
        expect(trace.Duration).toBeUndefined();
      }
    }
  }
  return out;
}

describe('writeDemoTraces', () => {
  let root: string;
  let dir: string;
  let manifest: DemoManifest;
  const options = {
    seed: 4,
    hours: 0.75,
    requestsPerSecond: 2,
    inProgressFraction: 0.01,
    brokenDocuments: 4,
  };

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'tracelake-demo-'));
    dir = path.join(root, 'traces');
    manifest = await writeDemoTraces(dir, options);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes one BatchGetTraces file per 5-minute window, named after the window, plus the manifest', async () => {
    const names = (await readdir(dir)).sort();
    expect(names).toEqual([...manifest.files, MANIFEST_FILE].sort());
    expect(manifest.files).toHaveLength(9);
    expect(manifest.windows).toBe(9);
    expect(manifest.files[0]).toBe('batchgettraces-20260115T0800Z.json');
    expect(manifest.files[8]).toBe('batchgettraces-20260115T0840Z.json');
  });

  it('records counts that equal a recount of the written files', async () => {
    const found = await recount(dir, manifest.files);
    expect(found.problems.slice(0, 10)).toEqual([]);
    expect(found.traces).toBe(manifest.traces);
    expect(found.documents).toBe(manifest.documents);
    expect(found.complete).toBe(manifest.completeSpans);
    expect(found.inProgress).toBe(manifest.inProgressSpans);
    expect(found.broken).toBe(manifest.brokenDocuments);
    expect(manifest.brokenDocuments).toBe(4);
    expect(manifest.inProgressSpans).toBeGreaterThan(0);
    expect(manifest.completeSpans).toBeGreaterThan(30_000);
  });

  it('stores the manifest it returns, with the resolved options', async () => {
    const stored: unknown = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8'));
    expect(stored).toEqual(manifest);
    expect(manifest.startMs).toBe(Date.UTC(2026, 0, 15, 8, 0));
    expect(manifest.endMs).toBe(Date.UTC(2026, 0, 15, 8, 45));
    expect(manifest.regression).toEqual({
      service: 'orders-api',
      name: 'DynamoDB',
      operation: 'Query',
      resource: 'orders',
      factor: 2.5,
      atMs: Date.UTC(2026, 0, 15, 8, 30),
    });
  });

  it('writes identical bytes for the same seed, and replaces an earlier run in the same folder', async () => {
    // Prepare: a folder holding another run's window file and an unrelated file.
    const other = path.join(root, 'again');
    await writeDemoTraces(other, { seed: 99, hours: 2 });
    await writeFile(path.join(other, 'notes.txt'), 'keep me');
    // Act
    const again = await writeDemoTraces(other, options);
    // Assess
    expect(again).toEqual(manifest);
    expect((await readdir(other)).sort()).toEqual([...manifest.files, MANIFEST_FILE, 'notes.txt'].sort());
    for (const name of manifest.files) {
      expect(await readFile(path.join(other, name), 'utf8')).toBe(
        await readFile(path.join(dir, name), 'utf8'),
      );
    }
  });

  it('fails with a LakeError when the folder cannot be created', async () => {
    const file = path.join(root, 'a-file');
    await writeFile(file, 'x');
    await expect(writeDemoTraces(path.join(file, 'sub'), { hours: 0.1 })).rejects.toThrow(LakeError);
  });
});

describe('demoFileName', () => {
  it('names a file after its UTC window start', () => {
    expect(demoFileName(Date.UTC(2026, 0, 15, 8, 5))).toBe('batchgettraces-20260115T0805Z.json');
    expect(demoFileName(Date.UTC(2025, 11, 31, 23, 55))).toBe('batchgettraces-20251231T2355Z.json');
  });
});
