/**
 * `tracelake report --lake s3://…` against an S3-compatible server on 127.0.0.1: the objects in
 * range are copied through the S3 adapter and give the same report as the same lake on disk.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../lib/adapters/s3-store.js';
import { type LocalS3, startS3 } from '../integration/support/s3.js';
import { fullFinding, fullStats, writeLake } from '../query/lake.js';
import { findingRows, SLOW_KEY, statsRows } from './rows.js';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..');
const cli = join(repo, 'bin', 'tracelake.js');
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('tracelake report on an S3 lake', () => {
  let s3: LocalS3;
  let work: string;

  beforeAll(async () => {
    // Prepare: one lake on disk, and the same objects under s3://lake/tl/.
    s3 = await startS3('lake');
    work = mkdtempSync(join(tmpdir(), 'tracelake-report-s3-'));
    const local = join(work, 'lake');
    await writeLake(local, {
      stats: statsRows().map(fullStats),
      regressions: findingRows().map(fullFinding),
    });
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const store = new S3ObjectStore(client, s3.bucket, 'tl');
    for (const f of files(local)) await store.put(relative(local, f).split(sep).join('/'), readFileSync(f));
    client.destroy();
  }, 60_000);

  afterAll(async () => {
    await s3?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('gives the same charts and findings as the lake on disk, with links in the region asked for', async () => {
    const env = { ...process.env, ...CREDENTIALS, AWS_ENDPOINT_URL_S3: s3.endpoint, NO_COLOR: '1' };
    const report = async (lake: string, out: string) =>
      JSON.parse(
        (
          await run(
            process.execPath,
            [cli, 'report', '--lake', lake, '--out', out, '--region', 'eu-central-1', '--json'],
            { cwd: work, env },
          )
        ).stdout,
      ) as Record<string, unknown>;
    const remote = await report(`s3://${s3.bucket}/tl`, 's3.html');
    const local = await report('lake', 'local.html');
    expect(remote.lake).toBe(`s3://${s3.bucket}/tl`);
    const { lake: _a, out: _b, ...r } = remote;
    const { lake: _c, out: _d, ...l } = local;
    expect(r).toEqual(l);
    expect((r.findings as { key: string }[]).map((f) => f.key)).toEqual([SLOW_KEY]);
    const html = readFileSync(join(work, 's3.html'), 'utf8');
    expect(html).toContain(
      'https://eu-central-1.console.aws.amazon.com/cloudwatch/home?region=eu-central-1#xray:traces/',
    );
  });
});
