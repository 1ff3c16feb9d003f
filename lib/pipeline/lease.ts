/**
 * Leases in the lake: a small JSON object (`owner`, `expiresAtMs`) taken with a conditional write,
 * so that one run at a time does a thing (the collector's windows, the update of the regression
 * baselines). A run that dies holding one leaves it to expire. Where the store cannot write
 * conditionally, every acquire succeeds with `version: null` (the caller says so in its logs).
 */
import { LakeError } from '../core/errors.js';
import type { ObjectStore } from '../core/ports.js';

export interface Lease {
  /** The lease object's version tag; null when the store has no conditional writes. */
  readonly version: string | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function leaseBody(owner: string, nowMs: number, leaseMs: number): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      owner,
      acquiredAtMs: nowMs,
      expiresAtMs: nowMs + leaseMs,
      expiresAt: new Date(nowMs + leaseMs),
    }),
  );
}

function leaseHolder(bytes: Uint8Array): { expiresAtMs: number; owner: string } {
  try {
    const v: unknown = JSON.parse(decoder.decode(bytes));
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const r = v as Record<string, unknown>;
      if (typeof r.expiresAtMs === 'number') {
        return { expiresAtMs: r.expiresAtMs, owner: typeof r.owner === 'string' ? r.owner : '?' };
      }
    }
  } catch {
    // A lease that cannot be read is treated as expired: it protects nothing.
  }
  return { expiresAtMs: 0, owner: '?' };
}

/** A name for a lease holder that no other run picks: the time and a random part. */
export function leaseOwner(nowMs: number): string {
  return `run-${nowMs}-${Math.random().toString(36).slice(2, 10)}`;
}

/** True when the store can guard a lease (conditional writes and versioned reads). */
export function canLease(store: ObjectStore): boolean {
  return store.putConditional !== undefined && store.getWithVersion !== undefined;
}

/**
 * Takes the lease at `key`; null when another live run holds it.
 *
 * @example
 * const lease = await acquireLease(store, '_state/lease.json', 'run-1', Date.now(), 900_000);
 * if (lease) try { ... } finally { await releaseLease(store, '_state/lease.json', lease, 'run-1', Date.now()); }
 */
export async function acquireLease(
  store: ObjectStore,
  key: string,
  owner: string,
  nowMs: number,
  leaseMs: number,
): Promise<Lease | null> {
  if (!store.putConditional || !store.getWithVersion) return { version: null };
  const body = leaseBody(owner, nowMs, leaseMs);
  const created = await store.putConditional(key, body);
  if (created !== null) return { version: created };
  const current = await store.getWithVersion(key);
  if (!current) {
    const retry = await store.putConditional(key, body);
    return retry === null ? null : { version: retry };
  }
  if (leaseHolder(current.body).expiresAtMs > nowMs) return null;
  // Expired: a run died holding it. Take it over only if nobody else did first.
  const taken = await store.putConditional(key, body, current.version);
  return taken === null ? null : { version: taken };
}

/** Extends a held lease; null when it was lost (expired and taken by another run). */
export async function renewLease(
  store: ObjectStore,
  key: string,
  lease: Lease,
  owner: string,
  nowMs: number,
  leaseMs: number,
): Promise<Lease | null> {
  if (lease.version === null || !store.putConditional) return lease;
  const version = await store.putConditional(key, leaseBody(owner, nowMs, leaseMs), lease.version);
  return version === null ? null : { version };
}

/** Gives a lease back by expiring it in place (conditionally), so one someone else took is never removed. */
export async function releaseLease(
  store: ObjectStore,
  key: string,
  lease: Lease,
  owner: string,
  nowMs: number,
): Promise<void> {
  if (lease.version === null || !store.putConditional) return;
  await store.putConditional(key, leaseBody(owner, nowMs, -1), lease.version);
}

export interface WaitOptions {
  /** How long the lease is valid (the work must finish within it). */
  readonly leaseMs: number;
  /** How long to wait for another holder before giving up. */
  readonly maxWaitMs: number;
  /** First pause between attempts; doubles up to 2 s. */
  readonly pauseMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `work` while holding the lease at `key`, waiting (with growing pauses) while another run
 * holds it; throws a `LakeError` naming the holder when it is still held after `maxWaitMs`.
 *
 * @example
 * await withLease(store, '_state/regressions.lock.json', 'run-1', { leaseMs: 300_000, maxWaitMs: 120_000 }, () => update());
 */
export async function withLease<T>(
  store: ObjectStore,
  key: string,
  owner: string,
  options: WaitOptions,
  work: () => Promise<T>,
): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const start = now();
  let pause = options.pauseMs ?? 100;
  let lease = await acquireLease(store, key, owner, now(), options.leaseMs);
  while (!lease) {
    if (now() - start >= options.maxWaitMs) {
      const current = store.getWithVersion ? await store.getWithVersion(key) : null;
      const holder = current ? leaseHolder(current.body) : null;
      throw new LakeError(
        `${key} is held by another run${holder ? ` (${holder.owner}, until ${new Date(holder.expiresAtMs).toISOString()})` : ''} after waiting ${Math.round(options.maxWaitMs / 1000)} s`,
      );
    }
    await sleep(pause + Math.floor(Math.random() * pause));
    pause = Math.min(2 * pause, 2000);
    lease = await acquireLease(store, key, owner, now(), options.leaseMs);
  }
  try {
    return await work();
  } finally {
    await releaseLease(store, key, lease, owner, now()).catch(() => {
      // Not given back: it expires by itself.
    });
  }
}
