/**
 * A local CloudWatch endpoint for `PutMetricData` as `@aws-sdk/client-cloudwatch` in this repo
 * sends it: AWS JSON 1.0 (`X-Amz-Target: GraniteServiceVersion20100801.PutMetricData`,
 * `application/x-amz-json-1.0`), bodies gzip-compressed by the SDK above its threshold.
 * Anything else is answered with an error, so a protocol change in the SDK fails the tests loudly.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface ReceivedPut {
  readonly contentEncoding: string | null;
  /** Body bytes as sent (compressed when gzip). */
  readonly wireBytes: number;
  /** Body bytes after decompression. */
  readonly jsonBytes: number;
  readonly namespace: string;
  readonly data: ReceivedDatum[];
}

export interface ReceivedDatum {
  readonly MetricName: string;
  readonly Dimensions?: { Name: string; Value: string }[];
  readonly Unit?: string;
  /** Epoch seconds, as the protocol carries it. */
  readonly Timestamp?: number;
  readonly Value?: number;
  readonly Values?: number[];
  readonly Counts?: number[];
}

export interface LocalCloudWatch {
  readonly endpoint: string;
  readonly puts: ReceivedPut[];
  readonly rejected: string[];
  stop(): Promise<void>;
}

function reply(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.0' };
  if (errorType) {
    headers['x-amzn-query-error'] = `${errorType};Sender`;
  }
  res.writeHead(status, headers);
  res.end(
    JSON.stringify(errorType ? { __type: `com.amazonaws.cloudwatch#${errorType}`, message: body } : body),
  );
}

function isDatum(v: unknown): v is ReceivedDatum {
  return (
    typeof v === 'object' && v !== null && typeof (v as { MetricName?: unknown }).MetricName === 'string'
  );
}

export async function startCloudWatch(): Promise<LocalCloudWatch> {
  const puts: ReceivedPut[] = [];
  const rejected: string[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const wire = Buffer.concat(chunks);
    const target = req.headers['x-amz-target'];
    const contentType = req.headers['content-type'];
    const encoding = req.headers['content-encoding'] ?? null;
    const fail = (why: string) => {
      rejected.push(why);
      reply(res, 400, why, 'InvalidParameterValue');
    };
    if (req.method !== 'POST' || contentType !== 'application/x-amz-json-1.0') {
      fail(`unexpected ${req.method} with content-type ${contentType}`);
      return;
    }
    if (target !== 'GraniteServiceVersion20100801.PutMetricData') {
      fail(`unexpected X-Amz-Target ${String(target)}`);
      return;
    }
    let json: Buffer;
    try {
      json = encoding === 'gzip' ? gunzipSync(wire) : wire;
    } catch {
      fail('body is not valid gzip');
      return;
    }
    let input: unknown;
    try {
      input = JSON.parse(json.toString('utf8'));
    } catch {
      fail('body is not JSON');
      return;
    }
    const body = input as { Namespace?: unknown; MetricData?: unknown };
    if (
      typeof body.Namespace !== 'string' ||
      !Array.isArray(body.MetricData) ||
      !body.MetricData.every(isDatum)
    ) {
      fail('Namespace and MetricData expected');
      return;
    }
    // The API's own limits, enforced as CloudWatch does.
    if (body.MetricData.length > 1000) return fail(`${body.MetricData.length} data in one call`);
    if (json.length > 1_000_000) return fail(`payload of ${json.length} bytes`);
    for (const d of body.MetricData) {
      if ((d.Values?.length ?? 0) > 150) return fail(`${d.Values?.length} values in one datum`);
      if (d.Values && new Set(d.Values).size !== d.Values.length) return fail('repeated value in Values');
      if (d.Values && d.Counts && d.Counts.length !== d.Values.length)
        return fail('Counts and Values differ in length');
    }
    puts.push({
      contentEncoding: encoding,
      wireBytes: wire.length,
      jsonBytes: json.length,
      namespace: body.Namespace,
      data: body.MetricData,
    });
    reply(res, 200, {});
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => reply(res, 500, String(e), 'InternalServiceError'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    puts,
    rejected,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
