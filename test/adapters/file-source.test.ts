import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSource } from '../../lib/adapters/file-source.js';
import { SourceError } from '../../lib/core/errors.js';
import type { SourceEvent } from '../../lib/core/ports.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tracelake-files-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function collect(source: FileSource): Promise<SourceEvent[]> {
  const out: SourceEvent[] = [];
  for await (const e of source.read()) out.push(e);
  return out;
}

const records = (events: SourceEvent[]) =>
  events.flatMap((e) => (e.type === 'record' ? [{ value: e.record.value, ...e.record.location }] : []));
const rejections = (events: SourceEvent[]) =>
  events.flatMap((e) => (e.type === 'rejected' ? [e.rejection] : []));

function write(rel: string, content: string | Buffer): string {
  const full = path.join(dir, rel);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, content);
  return full;
}

describe('FileSource', () => {
  it('walks a folder recursively in sorted order, reads .json/.ndjson/.jsonl (gzipped too) and skips the rest', async () => {
    const b = write('b/two.json', '{"n": 2}');
    const a = write('a.ndjson', '{"n": 1}\n\n{"n": 1.5}\n');
    const c = write('b/c/three.jsonl.gz', gzipSync('{"n": 3}\r\n{"n": 4}\n'));
    const d = write('d.json.gz', gzipSync('[{"n": 5}]'));
    write('notes.txt', 'hello');
    write('b/README.md', '# x');
    const source = new FileSource(dir);
    const events = await collect(source);
    expect(records(events)).toEqual([
      { value: { n: 1 }, source: a, line: 1 },
      { value: { n: 1.5 }, source: a, line: 3 },
      { value: { n: 3 }, source: c, line: 1 },
      { value: { n: 4 }, source: c, line: 2 },
      { value: { n: 2 }, source: b },
      { value: [{ n: 5 }], source: d },
    ]);
    expect(rejections(events)).toEqual([]);
    expect(source.stats()).toMatchObject({
      files: 4,
      skippedFiles: 2,
      lines: 7,
      parseErrors: 0,
      unreadableFiles: 0,
    });
    expect(source.stats().bytes).toBeGreaterThan(0);
  });

  it('reads a single file path', async () => {
    const f = write('one.json', '\uFEFF{"ok": true}');
    expect(records(await collect(new FileSource(f)))).toEqual([{ value: { ok: true }, source: f }]);
  });

  it('a bad NDJSON line between good lines is rejected with its line and column, and nothing else is lost', async () => {
    const f = write('mixed.ndjson', ['{"n": 1}', '{"n": 2,}', '{"n": 3}', 'not json', '{"n": 5}'].join('\n'));
    const events = await collect(new FileSource(f));
    expect(records(events).map((r) => [r.value, r.line])).toEqual([
      [{ n: 1 }, 1],
      [{ n: 3 }, 3],
      [{ n: 5 }, 5],
    ]);
    const rej = rejections(events);
    expect(rej.map((r) => r.location)).toEqual([
      { source: f, line: 2 },
      { source: f, line: 4 },
    ]);
    expect(rej[0]!.reason).toBe(
      "not valid JSON at line 2, column 9: expected a double-quoted property name, found '}' (a trailing comma?)",
    );
    expect(rej[0]!.raw).toBe('{"n": 2,}');
    expect(rej[1]!.reason).toBe("not valid JSON at line 4, column 1: expected a value, found 'n'");
    // Events keep file order: the rejection of line 2 comes between the records of lines 1 and 3.
    expect(events.map((e) => e.type)).toEqual(['record', 'rejected', 'record', 'rejected', 'record']);
  });

  it('a whole-file .json that does not parse is rejected with the line and column inside the file', async () => {
    const f = write('bad.json', '{\n  "a": 1,\n  "b": [1, 2\n}\n');
    const [rej] = rejections(await collect(new FileSource(f)));
    expect(rej!.location).toEqual({ source: f });
    expect(rej!.reason).toBe(
      "not valid JSON at line 4, column 1: expected ',' or ']' after an array element, found '}'",
    );
  });

  it('a truncated gzip file is rejected and the next file is still read', async () => {
    const good = gzipSync('{"n": 1}\n{"n": 2}\n');
    write('a.ndjson.gz', good.subarray(0, good.length - 6));
    const later = write('b.json', '{"later": true}');
    const events = await collect(new FileSource(dir));
    const rej = rejections(events);
    expect(rej).toHaveLength(1);
    expect(rej[0]!.reason).toMatch(/^cannot read the file: /);
    expect(records(events).at(-1)).toEqual({ value: { later: true }, source: later });
  });

  it('a file that is not gzip despite its name is rejected', async () => {
    const f = write('plain.json.gz', '{"n": 1}');
    const [rej] = rejections(await collect(new FileSource(f)));
    expect(rej!.reason).toMatch(/^cannot read the file: it is not valid gzip data/);
  });

  it('a file that cannot be opened (a broken link) is a rejection, and the run goes on', async () => {
    symlinkSync(path.join(dir, 'nowhere.json'), path.join(dir, 'a-broken.json'));
    const ok = write('b.json', '{}');
    const source = new FileSource(dir);
    const events = await collect(source);
    expect(rejections(events).map((r) => r.reason)).toEqual([
      'cannot read the file: it disappeared or is a broken link (ENOENT)',
    ]);
    expect(records(events)).toEqual([{ value: {}, source: ok }]);
    expect(source.stats().unreadableFiles).toBe(1);
  });

  it('a source path that does not exist throws SourceError naming it', async () => {
    const missing = path.join(dir, 'missing');
    const source = new FileSource(missing);
    await expect(collect(source)).rejects.toThrow(SourceError);
    await expect(collect(source)).rejects.toThrow(
      `source path "${missing}" cannot be used: it does not exist`,
    );
  });

  it('a whole-file .json above the size limit is rejected without being read, plain or gzipped; NDJSON has no limit', async () => {
    const big = `[${'1,'.repeat(600)}1]`;
    const plain = write('a.json', big);
    const zipped = write('b.json.gz', gzipSync(big));
    const lines = write('c.ndjson', `${big}\n${big}\n`);
    const events = await collect(new FileSource(dir, { maxJsonBytes: 1000 }));
    expect(rejections(events).map((r) => [r.location.source, r.reason])).toEqual([
      [
        plain,
        'cannot read the file: it is 1203 bytes, above the 1000 bytes limit for a whole-file .json (split it, or write it as .ndjson)',
      ],
      [
        zipped,
        'cannot read the file: it is more than 1000 bytes, above the 1000 bytes limit for a whole-file .json (split it, or write it as .ndjson)',
      ],
    ]);
    expect(records(events).map((r) => [r.source, r.line])).toEqual([
      [lines, 1],
      [lines, 2],
    ]);
  });

  it('reports its path', () => {
    expect(new FileSource('/data/traces').describe()).toBe('/data/traces');
  });
});
