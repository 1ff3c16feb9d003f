/**
 * The lake in a local folder. Keys map to files under the root; writes go to a temporary file in
 * the same folder and are renamed into place, so a reader sees the old file or the whole new one.
 * Conditional writes (checkpoints, leases) take an exclusive lock file next to the object, so two
 * processes sharing the folder cannot both win.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LakeError } from '../core/errors.js';
import type { ObjectStore } from '../core/ports.js';

/** Names of our own temporary and lock files start with this; `list` never shows them. */
const INTERNAL = '.tl-';
export interface LocalObjectStoreOptions {
  /** A lock older than this is taken to be left by a crashed writer. @default 30000 */
  readonly staleLockMs?: number;
  /** How long `putConditional` waits for a live lock before giving up. @default 10000 */
  readonly lockWaitMs?: number;
}

function errCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

function sha256(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class LocalObjectStore implements ObjectStore {
  readonly root: string;
  private readonly staleLockMs: number;
  private readonly lockWaitMs: number;

  constructor(rootDir: string, options: LocalObjectStoreOptions = {}) {
    this.root = path.resolve(rootDir);
    this.staleLockMs = options.staleLockMs ?? 30_000;
    this.lockWaitMs = options.lockWaitMs ?? 10_000;
  }

  describe(): string {
    return pathToFileURL(this.root).href;
  }

  /** The file of a key; rejects keys that would leave the root or name our internal files. */
  private fileOf(key: string): string {
    const parts = key.split('/');
    if (
      key === '' ||
      key.includes('\\') ||
      key.includes('\0') ||
      parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith(INTERNAL))
    ) {
      throw new LakeError(`invalid lake key "${key}" (expected relative "a/b/c" without "." or ".." parts)`);
    }
    return path.join(this.root, ...parts);
  }

  private fail(action: string, file: string, err: unknown): never {
    const code = errCode(err);
    const hint =
      code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? ' (the folder is not writable)'
        : code === 'ENOTDIR' || code === 'EEXIST'
          ? ' (a file stands where a folder is needed)'
          : code === 'ENOSPC'
            ? ' (the disk is full)'
            : '';
    throw new LakeError(`cannot ${action} ${file}${hint}: ${code ?? String(err)}`, { cause: err });
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const file = this.fileOf(key);
    await this.writeAtomic(file, body);
  }

  private async writeAtomic(file: string, body: Uint8Array): Promise<void> {
    const dir = path.dirname(file);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      this.fail('create folder', dir, err);
    }
    // Same folder as the target, so rename never crosses a file system and stays atomic.
    const tmp = path.join(
      dir,
      `${INTERNAL}tmp-${path.basename(file)}-${process.pid}-${randomBytes(6).toString('hex')}`,
    );
    try {
      await writeFile(tmp, body, { flag: 'wx' });
      await rename(tmp, file);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      this.fail('write', file, err);
    }
  }

  async get(key: string): Promise<Uint8Array | null> {
    const file = this.fileOf(key);
    try {
      const buf = await readFile(file);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return null;
      this.fail('read', file, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    // Walk only the deepest folder the prefix names, then filter by the rest of the prefix.
    const slash = prefix.lastIndexOf('/');
    const base = slash >= 0 ? prefix.slice(0, slash) : '';
    if (base.split('/').some((p) => p === '..')) throw new LakeError(`invalid lake prefix "${prefix}"`);
    const keys: string[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        const code = errCode(err);
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        this.fail('list', dir, err);
      }
      for (const entry of entries) {
        if (entry.name.startsWith(INTERNAL)) continue;
        const key = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          // Skip folders that cannot hold a match.
          if (prefix.startsWith(`${key}/`) || key.startsWith(prefix))
            await walk(path.join(dir, entry.name), key);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          keys.push(key);
        }
      }
    };
    await walk(base ? path.join(this.root, ...base.split('/')) : this.root, base);
    return keys.sort();
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const file = this.fileOf(key);
      try {
        await unlink(file);
      } catch (err) {
        if (errCode(err) !== 'ENOENT') this.fail('delete', file, err);
      }
    }
  }

  async getWithVersion(key: string): Promise<{ body: Uint8Array; version: string } | null> {
    const body = await this.get(key);
    return body === null ? null : { body, version: sha256(body) };
  }

  async putConditional(key: string, body: Uint8Array, ifMatch?: string): Promise<string | null> {
    const file = this.fileOf(key);
    const release = await this.lock(file);
    try {
      const current = await this.get(key);
      if (ifMatch === undefined ? current !== null : current === null || sha256(current) !== ifMatch)
        return null;
      await this.writeAtomic(file, body);
      return sha256(body);
    } finally {
      await release();
    }
  }

  /**
   * Takes `.tl-lock-<name>` beside the object with an exclusive create. A lock is stale when it is
   * older than `staleLockMs`, or was taken on this host by a process that no longer exists.
   */
  private async lock(file: string): Promise<() => Promise<void>> {
    const dir = path.dirname(file);
    const lockFile = path.join(dir, `${INTERNAL}lock-${path.basename(file)}`);
    const token = JSON.stringify({ host: hostname(), pid: process.pid, id: randomBytes(8).toString('hex') });
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      this.fail('create folder', dir, err);
    }
    const deadline = Date.now() + this.lockWaitMs;
    let delay = 2;
    for (;;) {
      try {
        const handle = await open(lockFile, 'wx');
        try {
          await handle.writeFile(token);
        } finally {
          await handle.close();
        }
        return async () => {
          // Only remove the lock if it is still ours (a stale-lock breaker may have replaced it).
          const held = await readFile(lockFile, 'utf8').catch(() => null);
          if (held === token) await unlink(lockFile).catch(() => {});
        };
      } catch (err) {
        if (errCode(err) !== 'EEXIST') this.fail('lock', lockFile, err);
      }
      if (await this.breakIfStale(lockFile)) continue;
      if (Date.now() > deadline) {
        throw new LakeError(
          `cannot lock ${file}: ${lockFile} is held by another writer (delete it if none runs)`,
        );
      }
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 100);
    }
  }

  private async breakIfStale(lockFile: string): Promise<boolean> {
    let content: string;
    let mtimeMs: number;
    try {
      content = await readFile(lockFile, 'utf8');
      mtimeMs = (await stat(lockFile)).mtimeMs;
    } catch {
      return true; // Released meanwhile: try again at once.
    }
    let stale = Date.now() - mtimeMs > this.staleLockMs;
    if (!stale) {
      try {
        const holder: unknown = JSON.parse(content);
        if (
          holder !== null &&
          typeof holder === 'object' &&
          'host' in holder &&
          'pid' in holder &&
          holder.host === hostname() &&
          typeof holder.pid === 'number'
        ) {
          stale = !processAlive(holder.pid);
        }
      } catch {
        // Written but not yet filled (the holder is between create and write): not stale.
      }
    }
    if (!stale) return false;
    // Move it aside first, then check that what we moved is the stale lock we judged, not a fresh
    // one another breaker created meanwhile; put a fresh one back.
    const aside = `${lockFile}-stale-${randomBytes(6).toString('hex')}`;
    try {
      await rename(lockFile, aside);
    } catch {
      return true;
    }
    const moved = await readFile(aside, 'utf8').catch(() => null);
    // link() fails if a lock exists again, so putting back never clobbers anyone.
    if (moved !== content && moved !== null) await link(aside, lockFile).catch(() => {});
    await unlink(aside).catch(() => {});
    return true;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errCode(err) === 'EPERM';
  }
}
