/**
 * Opens a lake by URI: `s3://bucket/prefix` gives an S3 store, anything else (a path or a
 * `file://` URL) a local folder. The CLI and the Lambda handlers both go through here.
 */
import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../core/errors.js';
import type { ObjectStore } from '../core/ports.js';
import { awsClients, type Env, makeS3Client } from './aws-clients.js';
import { LocalObjectStore } from './local-store.js';
import { parseS3Uri, S3ObjectStore } from './s3-store.js';

export interface OpenLakeOptions {
  /** The S3 client to use; default the shared process-wide client. */
  readonly s3?: S3Client;
}

/**
 * Opens the lake at `uri`.
 *
 * @example
 * const lake = openLake('s3://my-lake/tracelake'); // S3ObjectStore
 * const local = openLake('./lake');                // LocalObjectStore
 * @param env where `AWS_ENDPOINT_URL_S3` is read; with `process.env` the shared client is reused.
 * @throws ConfigError for an empty URI, a malformed `s3://` URI or an unsupported scheme.
 */
export function openLake(uri: string, env: Env = process.env, options: OpenLakeOptions = {}): ObjectStore {
  const trimmed = uri.trim();
  if (trimmed === '')
    throw new ConfigError('lake: the lake URI is empty (expected s3://bucket/prefix or a folder)');
  if (trimmed.startsWith('s3://')) {
    const { bucket, prefix } = parseS3Uri(trimmed);
    const client = options.s3 ?? (env === process.env ? awsClients.s3 : makeS3Client({}, env));
    return new S3ObjectStore(client, bucket, prefix);
  }
  if (trimmed.startsWith('file://')) return new LocalObjectStore(fileURLToPath(trimmed));
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(trimmed)) {
    throw new ConfigError(`lake: "${uri}" has an unsupported scheme (use s3://bucket/prefix or a folder)`);
  }
  return new LocalObjectStore(trimmed);
}
