/**
 * What both Lambda functions share: Powertools instances, the log sink backed by Powertools
 * Logger, and the pipeline's ports built once per container from the configuration.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { awsClients } from '../../lib/adapters/aws-clients.js';
import { CloudWatchMetricSink } from '../../lib/adapters/cloudwatch-sink.js';
import { openLake } from '../../lib/adapters/lake.js';
import { MultiSource } from '../../lib/adapters/multi-source.js';
import { RawSpansSource } from '../../lib/adapters/raw-spans-source.js';
import { parseS3Uri } from '../../lib/adapters/s3-store.js';
import { XRaySource } from '../../lib/adapters/xray-source.js';
import { getConfig, type TracelakeConfig } from '../../lib/config.js';
import type { LogSink, TraceSource } from '../../lib/core/ports.js';
import type { CollectorDeps, WindowPipelineOptions } from '../../lib/pipeline/collector.js';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'tracelake';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({
  serviceName,
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Tracelake',
});
export const tracer = new Tracer({ serviceName });

/** Pipeline log lines through Powertools Logger: one JSON line each, with the invocation context. */
export class PowertoolsLogSink implements LogSink {
  constructor(private readonly target: Logger) {}
  info(message: string, fields?: Record<string, unknown>): void {
    this.target.info(message, fields ?? {});
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.target.warn(message, fields ?? {});
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.target.error(message, fields ?? {});
  }
}

let deps: CollectorDeps | undefined;

/**
 * The ports, built on first use and kept for the container's life (clients, the lake, the
 * source's rate limiter); validated configuration first, so a bad variable fails fast.
 */
export function cloudDeps(config: TracelakeConfig = getConfig()): CollectorDeps {
  if (deps) return deps;
  const xray = tracer.captureAWSv3Client(awsClients.xray);
  const s3 = tracer.captureAWSv3Client(awsClients.s3);
  const cloudwatch = tracer.captureAWSv3Client(awsClients.cloudwatch);
  const xraySource = new XRaySource(xray, {
    filterExpression: config.xrayFilterExpression,
    group: config.xrayGroup,
    maxRps: config.xrayMaxRps,
    concurrency: config.xrayConcurrency,
  });
  let source: TraceSource = xraySource;
  if (config.spansRawPrefix && config.lakeUri.startsWith('s3://')) {
    // Transaction Search spans delivered by Firehose into the lake bucket, read for the same window.
    const { bucket } = parseS3Uri(config.lakeUri);
    const raw = new RawSpansSource({ s3, bucket, prefix: config.spansRawPrefix, lagMs: config.lagMs });
    source = new MultiSource([xraySource, raw]);
  }
  deps = {
    source,
    store: openLake(config.lakeUri, process.env, { s3 }),
    metrics: new CloudWatchMetricSink(cloudwatch, { namespace: config.metricsNamespace }),
    log: new PowertoolsLogSink(logger),
  };
  return deps;
}

/** Forgets the container's ports (tests that point the functions at new local servers). */
export function resetCloudDeps(): void {
  deps = undefined;
}

/** Pipeline options from the configuration, the same for the collector and the worker. */
export function pipelineOptions(config: TracelakeConfig): WindowPipelineOptions {
  return {
    writeSpans: config.writeSpans,
    metricKeyCap: config.metricKeyCap,
    regression: {
      minRatio: config.regression.minRatio,
      minDeltaMs: config.regression.minDeltaMs,
      minSamples: config.regression.minSamples,
    },
  };
}
