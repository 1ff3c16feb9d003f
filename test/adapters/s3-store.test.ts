import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { parseS3Uri, S3ObjectStore } from '../../lib/adapters/s3-store.js';
import { ConfigError, LakeError } from '../../lib/core/errors.js';

const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'us-east-1' });
const bytes = (text: string) => new TextEncoder().encode(text);

/** The part of the SDK's stream body the store uses. */
function body(text: string): GetObjectCommandOutput['Body'] {
  const stream = { transformToByteArray: async () => new Uint8Array(Buffer.from(text)) };
  return stream as unknown as GetObjectCommandOutput['Body'];
}

function preconditionFailed(): S3ServiceException {
  return new S3ServiceException({
    name: 'PreconditionFailed',
    $fault: 'client',
    $metadata: { httpStatusCode: 412 },
    message: 'At least one of the pre-conditions you specified did not hold',
  });
}

afterEach(() => {
  s3.reset();
});

describe('parseS3Uri', () => {
  it('splits bucket and prefix and rejects bad URIs', () => {
    expect(parseS3Uri('s3://lake/tl/')).toEqual({ bucket: 'lake', prefix: 'tl' });
    expect(parseS3Uri('s3://lake')).toEqual({ bucket: 'lake', prefix: '' });
    expect(parseS3Uri('s3://my.lake-1/a/b')).toEqual({ bucket: 'my.lake-1', prefix: 'a/b' });
    expect(() => parseS3Uri('s3://')).toThrow(ConfigError);
    expect(() => parseS3Uri('s3://Bad_Bucket/x')).toThrow(/not an s3:\/\/bucket\/prefix URI/);
  });
});

describe('S3ObjectStore', () => {
  it('puts small objects in one call under the prefix, with a content type', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    const store = new S3ObjectStore(client, 'lake', 'tl/');

    await store.put('spans/dt=2026-01-01/hour=10/x-0000.parquet', bytes('PAR1'));

    const input = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      Bucket: 'lake',
      Key: 'tl/spans/dt=2026-01-01/hour=10/x-0000.parquet',
      ContentType: 'application/vnd.apache.parquet',
    });
    expect(store.describe()).toBe('s3://lake/tl');
  });

  it('uploads large objects in parts', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3.on(UploadPartCommand).callsFake((input: { PartNumber?: number }) => ({
      ETag: `"p${input.PartNumber}"`,
    }));
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"done"' });
    const store = new S3ObjectStore(client, 'lake', '', { multipartThresholdBytes: 6 * 1024 * 1024 });

    await store.put('big.parquet', new Uint8Array(12 * 1024 * 1024 + 5));

    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    const parts = s3.commandCalls(UploadPartCommand).map((c) => c.args[0].input);
    expect(parts).toHaveLength(2);
    expect(parts.every((p) => p.UploadId === 'u1' && p.Key === 'big.parquet')).toBe(true);
    const complete = s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input;
    expect(complete?.MultipartUpload?.Parts?.map((p) => p.PartNumber)).toEqual([1, 2]);
  });

  it('gets an object, and null when it is absent', async () => {
    s3.on(GetObjectCommand, { Key: 'tl/a.json' }).resolves({ Body: body('{"a":1}'), ETag: '"v1"' });
    s3.on(GetObjectCommand, { Key: 'tl/missing.json' }).rejects(
      new NoSuchKey({ message: 'gone', $metadata: {} }),
    );
    const store = new S3ObjectStore(client, 'lake', 'tl');

    expect(new TextDecoder().decode((await store.get('a.json')) ?? new Uint8Array())).toBe('{"a":1}');
    expect(await store.get('missing.json')).toBeNull();
    expect(await store.getWithVersion('a.json')).toMatchObject({ version: '"v1"' });
  });

  it('names the lake and key when S3 refuses', async () => {
    s3.on(PutObjectCommand).rejects(
      new S3ServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: 'denied',
      }),
    );
    const store = new S3ObjectStore(client, 'lake', 'tl');
    await expect(store.put('a.json', bytes('x'))).rejects.toThrow(LakeError);
    await expect(store.put('a.json', bytes('x'))).rejects.toThrow(
      's3://lake/tl: cannot write a.json: AccessDenied',
    );
  });

  it('lists every page without a delimiter, relative to the prefix, sorted', async () => {
    s3.on(ListObjectsCommand)
      .resolvesOnce({
        Contents: [{ Key: 'tl/spans/a' }, { Key: 'tl/spans/b' }],
        IsTruncated: true,
      })
      .resolvesOnce({ Contents: [{ Key: 'tl/spans/d' }, { Key: 'tl/spans/c' }], IsTruncated: false });
    const store = new S3ObjectStore(client, 'lake', 'tl');

    expect(await store.list('spans/')).toEqual(['spans/a', 'spans/b', 'spans/c', 'spans/d']);
    const calls = s3.commandCalls(ListObjectsCommand).map((c) => c.args[0].input);
    // The next page starts after the last key seen.
    expect(calls.map((c) => [c.Prefix, c.Marker, c.Delimiter])).toEqual([
      ['tl/spans/', undefined, undefined],
      ['tl/spans/', 'tl/spans/b', undefined],
    ]);
  });

  it('deletes in batches of 1,000 and reports per-key failures', async () => {
    s3.on(DeleteObjectsCommand).resolves({});
    const store = new S3ObjectStore(client, 'lake', 'tl');
    const keys = Array.from({ length: 2500 }, (_, i) => `k/${i}`);

    await store.delete(keys);

    const batches = s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.Delete?.Objects ?? []);
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 500]);
    expect(batches[2]?.[499]?.Key).toBe('tl/k/2499');

    s3.reset();
    s3.on(DeleteObjectsCommand).resolves({
      Errors: [{ Key: 'tl/k/1', Code: 'AccessDenied', Message: 'no' }],
    });
    await expect(store.delete(['k/1'])).rejects.toThrow(
      /cannot delete 1 object\(s\), first tl\/k\/1: AccessDenied/,
    );
  });

  it('writes conditionally with If-None-Match / If-Match and returns null when the condition fails', async () => {
    s3.on(PutObjectCommand, { Key: '_state/lease.json', IfNoneMatch: '*' }).rejects(preconditionFailed());
    s3.on(PutObjectCommand, { Key: '_state/lease.json', IfMatch: '"v1"' }).resolves({ ETag: '"v2"' });
    s3.on(PutObjectCommand, { Key: '_state/lease.json', IfMatch: '"old"' }).rejects(preconditionFailed());
    const store = new S3ObjectStore(client, 'lake', '', { conditionalWrites: 'native' });

    expect(await store.putConditional('_state/lease.json', bytes('x'))).toBeNull();
    expect(await store.putConditional('_state/lease.json', bytes('x'), '"v1"')).toBe('"v2"');
    expect(await store.putConditional('_state/lease.json', bytes('x'), '"old"')).toBeNull();
  });

  it('detects a server that ignores conditional headers and falls back to read-compare-write', async () => {
    // The probe's second create succeeds: the server ignored If-None-Match.
    s3.on(PutObjectCommand).resolves({ ETag: '"w"' });
    s3.on(DeleteObjectsCommand).resolves({});
    s3.on(GetObjectCommand, { Key: '_state/checkpoint.json' }).resolves({ Body: body('{}'), ETag: '"cur"' });
    s3.on(GetObjectCommand, { Key: '_state/new.json' }).rejects(
      new NoSuchKey({ message: 'gone', $metadata: {} }),
    );
    const store = new S3ObjectStore(client, 'lake');

    expect(await store.conditionalMode()).toBe('emulated');
    expect(await store.putConditional('_state/checkpoint.json', bytes('x'))).toBeNull();
    expect(await store.putConditional('_state/checkpoint.json', bytes('x'), '"stale"')).toBeNull();
    expect(await store.putConditional('_state/checkpoint.json', bytes('x'), '"cur"')).toBe('"w"');
    expect(await store.putConditional('_state/new.json', bytes('x'))).toBe('"w"');
    // The probe object was removed again.
    expect(s3.commandCalls(DeleteObjectsCommand)[0]?.args[0].input.Delete?.Objects?.[0]?.Key).toMatch(
      /^_state\/\.conditional-probe-/,
    );
  });

  it('uses native conditional writes when the probe sees them enforced', async () => {
    s3.on(PutObjectCommand)
      .resolvesOnce({ ETag: '"p"' })
      .rejectsOnce(preconditionFailed())
      .resolves({ ETag: '"n"' });
    s3.on(DeleteObjectsCommand).resolves({});
    const store = new S3ObjectStore(client, 'lake');

    expect(await store.conditionalMode()).toBe('native');
    expect(await store.putConditional('_state/lease.json', bytes('x'))).toBe('"n"');
    expect(s3.commandCalls(PutObjectCommand)[2]?.args[0].input.IfNoneMatch).toBe('*');
  });

  it('rejects keys that climb out of the prefix', async () => {
    const store = new S3ObjectStore(client, 'lake', 'tl');
    await expect(store.put('../other/x', bytes('x'))).rejects.toThrow(/invalid key/);
  });
});
