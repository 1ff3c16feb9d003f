/**
 * The lake on S3: the same relative keys as the local folder, under `s3://bucket/prefix`.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsCommand,
  type ListObjectsCommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ConfigError, LakeError } from '../core/errors.js';
import type { ObjectStore } from '../core/ports.js';

/**
 * How `putConditional` is done:
 * - `native`: S3 conditional writes (`If-None-Match: *`, `If-Match: <etag>`), atomic;
 * - `emulated`: read, compare, then write; not atomic (for servers that ignore the headers);
 * - `auto`: probe once, then one of the two.
 */
export type ConditionalMode = 'auto' | 'native' | 'emulated';

export interface S3ObjectStoreOptions {
  /** Objects at least this big are uploaded in parts. Default 8 MiB. */
  readonly multipartThresholdBytes?: number;
  /** Part size for multipart uploads (S3 minimum 5 MiB). Default 8 MiB. */
  readonly partSizeBytes?: number;
  /** Parts uploaded at once. Default 4. */
  readonly uploadConcurrency?: number;
  readonly conditionalWrites?: ConditionalMode;
  /** Keys per `ListObjectsV2` page (S3 maximum and default 1,000). */
  readonly listPageSize?: number;
}

const MIB = 1024 * 1024;

/**
 * Splits `s3://bucket/prefix/` into bucket and prefix (no leading or trailing slash).
 *
 * @example parseS3Uri('s3://lake/tl/') // => { bucket: 'lake', prefix: 'tl' }
 * @throws ConfigError when the URI is not `s3://bucket[/prefix]` with a valid bucket name.
 */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri.trim());
  const bucket = m?.[1];
  if (!m || !bucket || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError(`lake: "${uri}" is not an s3://bucket/prefix URI with a valid bucket name`);
  }
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket, prefix };
}

function errorName(e: unknown): string {
  if (typeof e === 'object' && e !== null) {
    const name = (e as { name?: unknown }).name;
    if (typeof name === 'string') return name;
  }
  return '';
}

function httpStatus(e: unknown): number | undefined {
  if (typeof e === 'object' && e !== null) {
    const meta = (e as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
    if (typeof meta?.httpStatusCode === 'number') return meta.httpStatusCode;
  }
  return undefined;
}

function isNotFound(e: unknown): boolean {
  return errorName(e) === 'NoSuchKey' || errorName(e) === 'NotFound' || httpStatus(e) === 404;
}

function isConditionFailed(e: unknown): boolean {
  const status = httpStatus(e);
  // 412: the condition did not hold; 409: a concurrent conditional write to the same key won.
  return (
    status === 412 ||
    status === 409 ||
    errorName(e) === 'PreconditionFailed' ||
    errorName(e) === 'ConditionalRequestConflict'
  );
}

export class S3ObjectStore implements ObjectStore {
  private readonly root: string;
  private readonly threshold: number;
  private readonly partSize: number;
  private readonly concurrency: number;
  private readonly listPageSize: number | undefined;
  private conditional: Promise<'native' | 'emulated'> | undefined;

  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    prefix = '',
    options: S3ObjectStoreOptions = {},
  ) {
    const clean = prefix.replace(/^\/+|\/+$/g, '');
    this.root = clean ? `${clean}/` : '';
    this.threshold = options.multipartThresholdBytes ?? 8 * MIB;
    this.partSize = Math.max(5 * MIB, options.partSizeBytes ?? 8 * MIB);
    this.concurrency = options.uploadConcurrency ?? 4;
    this.listPageSize = options.listPageSize;
    const mode = options.conditionalWrites ?? 'auto';
    if (mode !== 'auto') this.conditional = Promise.resolve(mode);
  }

  describe(): string {
    return `s3://${this.bucket}/${this.root}`.replace(/\/$/, '');
  }

  private fullKey(key: string): string {
    if (key.startsWith('/') || key.split('/').includes('..')) {
      throw new LakeError(`${this.describe()}: invalid key "${key}"`);
    }
    return this.root + key;
  }

  private fail(action: string, key: string, e: unknown): LakeError {
    const reason = e instanceof Error ? e.message : String(e);
    return new LakeError(
      `${this.describe()}: cannot ${action} ${key}: ${errorName(e) || 'error'}: ${reason}`,
      {
        cause: e,
      },
    );
  }

  async put(key: string, body: Uint8Array, options: { contentType?: string } = {}): Promise<void> {
    const Key = this.fullKey(key);
    const ContentType = options.contentType ?? contentTypeOf(key);
    try {
      if (body.byteLength >= this.threshold) {
        // Multipart: S3 shows the object only when the upload completes, so readers never see part of it.
        const upload = new Upload({
          client: this.client,
          params: { Bucket: this.bucket, Key, Body: body, ContentType },
          partSize: this.partSize,
          queueSize: this.concurrency,
          leavePartsOnError: false,
        });
        await upload.done();
      } else {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentType }));
      }
    } catch (e) {
      throw this.fail('write', key, e);
    }
  }

  async get(key: string): Promise<Uint8Array | null> {
    return (await this.getWithVersion(key))?.body ?? null;
  }

  async getWithVersion(key: string): Promise<{ body: Uint8Array; version: string } | null> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }),
      );
      if (!out.Body) return { body: new Uint8Array(), version: out.ETag ?? '' };
      const body = await out.Body.transformToByteArray();
      return { body, version: out.ETag ?? '' };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw this.fail('read', key, e);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    // ListObjects (v1) paged by Marker = last key: the same listing as v2 on S3, and s3rver cannot
    // make v2 continuation tokens on Node 20 (they use DES, which OpenSSL 3 dropped).
    let after: string | undefined;
    // No delimiter: s3rver's delimiter listing skips folders that hold only folders.
    do {
      let out: ListObjectsCommandOutput;
      try {
        out = await this.client.send(
          new ListObjectsCommand({
            Bucket: this.bucket,
            Prefix: this.root + prefix,
            ...(after ? { Marker: after } : {}),
            ...(this.listPageSize ? { MaxKeys: this.listPageSize } : {}),
          }),
        );
      } catch (e) {
        throw this.fail('list', prefix || '/', e);
      }
      for (const o of out.Contents ?? []) {
        if (o.Key?.startsWith(this.root)) keys.push(o.Key.slice(this.root.length));
      }
      const last = out.Contents?.at(-1)?.Key;
      after = out.IsTruncated && last ? last : undefined;
    } while (after);
    return keys.sort();
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      let errors: { Key?: string; Code?: string; Message?: string }[] | undefined;
      try {
        const out = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((k) => ({ Key: this.fullKey(k) })), Quiet: true },
          }),
        );
        errors = out.Errors;
      } catch (e) {
        throw this.fail('delete', batch[0] ?? '', e);
      }
      const first = errors?.[0];
      if (first) {
        throw new LakeError(
          `${this.describe()}: cannot delete ${errors?.length} object(s), first ${first.Key}: ${first.Code} ${first.Message ?? ''}`,
        );
      }
    }
  }

  /** Whether this store's conditional writes are atomic (`native`) or read-compare-write. */
  conditionalMode(): Promise<'native' | 'emulated'> {
    this.conditional ??= this.probeConditionalWrites();
    return this.conditional;
  }

  async putConditional(key: string, body: Uint8Array, ifMatch?: string): Promise<string | null> {
    const mode = await this.conditionalMode();
    return mode === 'native' ? this.putNative(key, body, ifMatch) : this.putEmulated(key, body, ifMatch);
  }

  private async putNative(key: string, body: Uint8Array, ifMatch?: string): Promise<string | null> {
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.fullKey(key),
          Body: body,
          ContentType: contentTypeOf(key),
          ...(ifMatch === undefined ? { IfNoneMatch: '*' } : { IfMatch: ifMatch }),
        }),
      );
      return out.ETag ?? '';
    } catch (e) {
      if (isConditionFailed(e)) return null;
      // If-Match on a key that is gone.
      if (ifMatch !== undefined && isNotFound(e)) return null;
      throw this.fail('conditionally write', key, e);
    }
  }

  private async putEmulated(key: string, body: Uint8Array, ifMatch?: string): Promise<string | null> {
    const current = await this.getWithVersion(key);
    if (ifMatch === undefined ? current !== null : current?.version !== ifMatch) return null;
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.fullKey(key),
          Body: body,
          ContentType: contentTypeOf(key),
        }),
      );
      return out.ETag ?? '';
    } catch (e) {
      throw this.fail('write', key, e);
    }
  }

  /**
   * S3 has honoured `If-None-Match`/`If-Match` on PutObject since 2024; some S3-compatible servers
   * ignore them and overwrite. Writing the same new key twice with `If-None-Match: *` tells which.
   */
  private async probeConditionalWrites(): Promise<'native' | 'emulated'> {
    const key = `_state/.conditional-probe-${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;
    const body = new TextEncoder().encode('probe');
    try {
      const first = await this.putNative(key, body);
      if (first === null) return 'emulated';
      const second = await this.putNative(key, body);
      return second === null ? 'native' : 'emulated';
    } catch {
      return 'emulated';
    } finally {
      await this.delete([key]).catch(() => undefined);
    }
  }
}

function contentTypeOf(key: string): string {
  if (key.endsWith('.parquet')) return 'application/vnd.apache.parquet';
  if (key.endsWith('.json')) return 'application/json';
  if (key.endsWith('.ndjson')) return 'application/x-ndjson';
  return 'application/octet-stream';
}
