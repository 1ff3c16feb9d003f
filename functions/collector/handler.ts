/**
 * Scheduled collector: processes the windows that are due (checkpoint + lag), at most
 * `TRACELAKE_MAX_WINDOWS_PER_RUN` per invocation, under the lake's lease.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { getConfig } from '../../lib/config.js';
import { type CollectorResult, runDueWindows } from '../../lib/pipeline/collector.js';
import { cloudDeps, logger, metrics, pipelineOptions, tracer } from '../shared/runtime.js';

export interface CollectorResponse {
  readonly status: CollectorResult['status'];
  readonly windows: string[];
  readonly traces: number;
  readonly checkpoint: string | null;
  readonly remaining: number;
}

async function collect(_event: unknown, context: Context): Promise<CollectorResponse> {
  const config = getConfig();
  const result = await runDueWindows(cloudDeps(config), {
    windowMs: config.windowMs,
    lagMs: config.lagMs,
    maxWindows: config.maxWindowsPerRun,
    owner: context.awsRequestId,
    pipeline: pipelineOptions(config),
  });
  metrics.addMetric('WindowsProcessed', MetricUnit.Count, result.windows.length);
  metrics.addMetric('WindowsBacklog', MetricUnit.Count, result.remaining);
  const response: CollectorResponse = {
    status: result.status,
    windows: result.windows.map((w) => new Date(w.windowStartMs).toISOString()),
    traces: result.windows.reduce((n, w) => n + w.traces, 0),
    checkpoint: result.checkpointMs === null ? null : new Date(result.checkpointMs).toISOString(),
    remaining: result.remaining,
  };
  logger.info('collector run', { ...response, concurrency: result.concurrency });
  return response;
}

export const handler = middy(collect)
  .use(captureLambdaHandler(tracer))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(injectLambdaContext(logger));
