import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../lib/adapters/local-store.js';
import { LakeError } from '../../lib/core/errors.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

let root: string;
let store: LocalObjectStore;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'tracelake-store-'));
  store = new LocalObjectStore(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every file name under a folder, our temporary and lock files included. */
async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('LocalObjectStore basics', () => {
  it('puts, gets, lists recursively in order and deletes', async () => {
    await store.put('spans/dt=2026-01-01/hour=10/b.parquet', enc('b'));
    await store.put('spans/dt=2026-01-01/hour=10/a.parquet', enc('a'));
    await store.put('spans/dt=2026-01-01/hour=09/z.parquet', enc('z'));
    await store.put('traces/dt=2026-01-01/hour=10/a.parquet', enc('t'));

    expect(dec(await store.get('spans/dt=2026-01-01/hour=10/a.parquet'))).toBe('a');
    expect(await store.get('spans/missing.parquet')).toBeNull();
    expect(await store.list('spans/')).toEqual([
      'spans/dt=2026-01-01/hour=09/z.parquet',
      'spans/dt=2026-01-01/hour=10/a.parquet',
      'spans/dt=2026-01-01/hour=10/b.parquet',
    ]);
    expect(await store.list('spans/dt=2026-01-01/hour=10/a')).toEqual([
      'spans/dt=2026-01-01/hour=10/a.parquet',
    ]);
    expect(await store.list('')).toHaveLength(4);
    expect(await store.list('nothing/here/')).toEqual([]);

    await store.delete(['spans/dt=2026-01-01/hour=10/a.parquet', 'spans/never-existed.parquet']);
    expect(await store.list('spans/dt=2026-01-01/hour=10/')).toEqual([
      'spans/dt=2026-01-01/hour=10/b.parquet',
    ]);
    expect(store.describe()).toBe(`file://${root}`);
  });

  it('replaces an object whole', async () => {
    await store.put('k/x', enc('first, longer body'));
    await store.put('k/x', enc('second'));
    expect(dec(await store.get('k/x'))).toBe('second');
  });

  it('rejects keys that would leave the lake', async () => {
    for (const key of ['../x', 'a/../../x', '/abs', 'a//b', '', 'a\\b', 'a/.tl-lock-x']) {
      await expect(store.put(key, enc('x')), key).rejects.toThrow(LakeError);
    }
  });

  it('names the path when the lake folder cannot be written', async () => {
    const blocker = path.join(root, 'not-a-folder');
    await writeFile(blocker, 'x');
    const bad = new LocalObjectStore(blocker);
    const err = await bad.put('spans/a.parquet', enc('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LakeError);
    expect((err as Error).message).toContain(path.join(blocker, 'spans'));
  });
});

describe('LocalObjectStore atomic put', () => {
  it('never shows a partial object to a concurrent reader and leaves no temporary files', async () => {
    // Prepare: two large bodies of different lengths and contents.
    const a = new Uint8Array(3 << 20).fill(0x41);
    const b = new Uint8Array(2 << 20).fill(0x42);
    let done = false;
    const seen = { a: 0, b: 0, absent: 0 };

    // Act: one writer alternating the bodies, one reader reading as fast as it can.
    const reader = (async () => {
      while (!done) {
        const got = await store.get('big/object.bin');
        if (got === null) seen.absent++;
        else if (got.length === a.length && got.every((x) => x === 0x41)) seen.a++;
        else if (got.length === b.length && got.every((x) => x === 0x42)) seen.b++;
        else throw new Error(`partial read: ${got.length} bytes`);
      }
    })();
    for (let i = 0; i < 30; i++) await store.put('big/object.bin', i % 2 ? b : a);
    done = true;
    await reader;

    // Assess
    expect(seen.a + seen.b + seen.absent).toBeGreaterThan(0);
    expect(await allFiles(root)).toEqual([path.join('big', 'object.bin')]);
  });

  it('cleans its temporary file when the rename fails', async () => {
    await store.put('dir/x/inner', enc('x'));
    // 'dir/x' is a folder now, so writing an object there must fail.
    await expect(store.put('dir/x', enc('y'))).rejects.toThrow(LakeError);
    expect(await allFiles(root)).toEqual([path.join('dir', 'x', 'inner')]);
  });
});

describe('LocalObjectStore conditional put', () => {
  it('creates only when absent and updates only on the current version', async () => {
    const v1 = await store.putConditional('_state/checkpoint.json', enc('1'));
    expect(v1).toMatch(/^[0-9a-f]{64}$/);
    expect(await store.putConditional('_state/checkpoint.json', enc('other'))).toBeNull();

    const current = await store.getWithVersion('_state/checkpoint.json');
    expect(current?.version).toBe(v1);
    expect(dec(current!.body)).toBe('1');

    expect(await store.putConditional('_state/checkpoint.json', enc('x'), 'f'.repeat(64))).toBeNull();
    const v2 = await store.putConditional('_state/checkpoint.json', enc('2'), v1!);
    expect(v2).not.toBeNull();
    expect(v2).not.toBe(v1);
    expect(await store.putConditional('_state/checkpoint.json', enc('3'), v1!)).toBeNull();
    expect(dec(await store.get('_state/checkpoint.json'))).toBe('2');
    expect(await store.putConditional('_state/absent.json', enc('x'), v1!)).toBeNull();
    expect(await store.getWithVersion('_state/absent.json')).toBeNull();
    expect(await store.list('_state/')).toEqual(['_state/checkpoint.json']);
  });

  it('lets exactly one of many concurrent writers with the same version win', async () => {
    const v0 = (await store.putConditional('lease', enc('start')))!;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.putConditional('lease', enc(`writer-${i}`), v0)),
    );
    const winners = results.flatMap((v, i) => (v === null ? [] : [i]));
    expect(winners).toHaveLength(1);
    expect(dec(await store.get('lease'))).toBe(`writer-${winners[0]}`);
    expect(await allFiles(root)).toEqual(['lease']);
  });

  it('lets exactly one of several processes win', async () => {
    const v0 = (await store.putConditional('lease', enc('start')))!;
    const child = path.join(import.meta.dirname, 'local-store-race.child.ts');
    const startAt = Date.now() + 2500;
    const run = (name: string) =>
      new Promise<string>((resolve, reject) => {
        const p = spawn(
          process.execPath,
          ['--import', 'tsx', child, root, 'lease', v0, String(startAt), name],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        let out = '';
        let err = '';
        p.stdout.on('data', (d) => {
          out += d;
        });
        p.stderr.on('data', (d) => {
          err += d;
        });
        p.on('error', reject);
        p.on('close', (code) =>
          code === 0 ? resolve(out) : reject(new Error(`child ${name}: ${code} ${err}`)),
        );
      });

    const outcomes = await Promise.all(['p0', 'p1', 'p2', 'p3'].map(run));

    expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'lost')).toHaveLength(3);
    const winner = ['p0', 'p1', 'p2', 'p3'][outcomes.indexOf('won')];
    expect(dec(await store.get('lease'))).toBe(winner);
  });

  it('breaks a lock left by a process that is gone, or one that is too old', async () => {
    // A pid that existed and has exited.
    const dead = await new Promise<number>((resolve) => {
      const p = spawn(process.execPath, ['-e', '0']);
      p.on('close', () => resolve(p.pid!));
    });
    await writeFile(path.join(root, '.tl-lock-a'), JSON.stringify({ host: hostname(), pid: dead, id: 'x' }));
    expect(await store.putConditional('a', enc('1'))).not.toBeNull();

    const old = path.join(root, '.tl-lock-b');
    await writeFile(old, JSON.stringify({ host: hostname(), pid: process.pid, id: 'y' }));
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(old, minuteAgo, minuteAgo);
    expect(await store.putConditional('b', enc('1'))).not.toBeNull();
    expect(await allFiles(root)).toEqual(['a', 'b']);
  });

  it('gives up with a clear error while a live writer holds the lock', async () => {
    const lock = path.join(root, '.tl-lock-c');
    await writeFile(lock, JSON.stringify({ host: hostname(), pid: process.pid, id: 'live' }));
    const impatient = new LocalObjectStore(root, { lockWaitMs: 200 });
    await expect(impatient.putConditional('c', enc('1'))).rejects.toThrow(
      /cannot lock .*held by another writer/,
    );
    // The live lock is left alone.
    expect(await readFile(lock, 'utf8')).toContain('live');
  });
});
