/**
 * AWS SDK v3 clients, built once per process (per Lambda container) and reused across
 * invocations. Endpoints follow the SDK's own `AWS_ENDPOINT_URL_XRAY`, `AWS_ENDPOINT_URL_S3`,
 * `AWS_ENDPOINT_URL_CLOUDWATCH` (and `AWS_ENDPOINT_URL`) variables, which the SDK resolves itself;
 * we only add what those endpoints need (path-style S3 addressing).
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { XRayClient } from '@aws-sdk/client-xray';

export type Env = Readonly<Record<string, string | undefined>>;

export interface ClientOptions {
  /** Defaults to the SDK's resolution (AWS_REGION, profile…). */
  readonly region?: string;
  /** Attempts including the first; adaptive mode also rate-limits the client after throttles. */
  readonly maxAttempts?: number;
}

/** The endpoint override the SDK will use for a service, if any (same precedence as the SDK). */
export function endpointOverride(
  serviceEnvSuffix: 'XRAY' | 'S3' | 'CLOUDWATCH',
  env: Env,
): string | undefined {
  return env[`AWS_ENDPOINT_URL_${serviceEnvSuffix}`] || env.AWS_ENDPOINT_URL || undefined;
}

/** An S3 client; path-style addressing when an endpoint override (s3rver, MinIO) is set. */
export function makeS3Client(options: ClientOptions = {}, env: Env = process.env): S3Client {
  const endpoint = endpointOverride('S3', env);
  return new S3Client({
    ...(options.region ? { region: options.region } : {}),
    // Explicit, so an `env` other than process.env (CLI tests) is honoured too.
    ...(endpoint ? { endpoint } : {}),
    retryMode: 'adaptive',
    maxAttempts: options.maxAttempts ?? 5,
    forcePathStyle: endpoint !== undefined,
    // Checksums only where S3 demands them: s3rver mangles aws-chunked streaming uploads otherwise.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** An X-Ray client; adaptive retries so throttled windows slow down instead of failing. */
export function makeXRayClient(options: ClientOptions = {}, env: Env = process.env): XRayClient {
  const endpoint = endpointOverride('XRAY', env);
  return new XRayClient({
    ...(options.region ? { region: options.region } : {}),
    ...(endpoint ? { endpoint } : {}),
    retryMode: 'adaptive',
    maxAttempts: options.maxAttempts ?? 8,
  });
}

/** A CloudWatch client (PutMetricData bodies are gzip-compressed by the SDK above 10 KB). */
export function makeCloudWatchClient(options: ClientOptions = {}, env: Env = process.env): CloudWatchClient {
  const endpoint = endpointOverride('CLOUDWATCH', env);
  return new CloudWatchClient({
    ...(options.region ? { region: options.region } : {}),
    ...(endpoint ? { endpoint } : {}),
    retryMode: 'adaptive',
    maxAttempts: options.maxAttempts ?? 5,
  });
}

export interface AwsClients {
  readonly s3: S3Client;
  readonly xray: XRayClient;
  readonly cloudwatch: CloudWatchClient;
}

let shared: { s3?: S3Client; xray?: XRayClient; cloudwatch?: CloudWatchClient } = {};

/**
 * Lazily built, process-wide clients: built on first use (not at import, so a cold start that
 * fails on configuration does not pay for them), then reused by every invocation.
 */
export const awsClients: AwsClients = {
  get s3() {
    shared.s3 ??= makeS3Client();
    return shared.s3;
  },
  get xray() {
    shared.xray ??= makeXRayClient();
    return shared.xray;
  },
  get cloudwatch() {
    shared.cloudwatch ??= makeCloudWatchClient();
    return shared.cloudwatch;
  },
};

/** Drops the shared clients so the next use reads the environment again (tests switch endpoints). */
export function resetAwsClients(): void {
  shared.s3?.destroy();
  shared.xray?.destroy();
  shared.cloudwatch?.destroy();
  shared = {};
}
