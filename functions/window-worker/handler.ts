/**
 * Window worker for backfills (Step Functions map state): processes one given window
 * `{ "windowStart": "<ISO>" }`, or every window of a range `{ "from": "<ISO>", "to": "<ISO>" }`.
 * Does not move the checkpoint: that belongs to the scheduled collector.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { getConfig } from '../../lib/config.js';
import { ConfigError } from '../../lib/core/errors.js';
import { windowStart } from '../../lib/core/model.js';
import { backfill } from '../../lib/pipeline/collector.js';
import { cloudDeps, logger, metrics, pipelineOptions, tracer } from '../shared/runtime.js';

export interface WorkerResponse {
  readonly windows: {
    windowStart: string;
    traces: number;
    spans: number;
    rejected: number;
    findings: number;
  }[];
}

function time(value: unknown, field: string): number {
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new ConfigError(
      `window-worker event: "${field}" must be an ISO 8601 time; got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}

/**
 * The range of windows an event asks for.
 *
 * @example parseWorkerEvent({ windowStart: '2026-01-01T10:05:00Z' }, 300_000)
 * // => { fromMs: Date.UTC(2026, 0, 1, 10, 5), toMs: Date.UTC(2026, 0, 1, 10, 10) }
 */
export function parseWorkerEvent(event: unknown, windowMs: number): { fromMs: number; toMs: number } {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new ConfigError(
      'window-worker event: expected { "windowStart": "<ISO>" } or { "from": "<ISO>", "to": "<ISO>" }',
    );
  }
  const e = event as Record<string, unknown>;
  if ('windowStart' in e) {
    const start = time(e.windowStart, 'windowStart');
    if (windowStart(start, windowMs) !== start) {
      throw new ConfigError(
        `window-worker event: windowStart ${new Date(start).toISOString()} is not aligned to the ${windowMs / 60_000}-minute windows`,
      );
    }
    return { fromMs: start, toMs: start + windowMs };
  }
  if ('from' in e && 'to' in e) {
    const fromMs = time(e.from, 'from');
    const toMs = time(e.to, 'to');
    if (toMs <= fromMs) throw new ConfigError('window-worker event: "to" must be after "from"');
    return { fromMs, toMs };
  }
  throw new ConfigError(
    'window-worker event: expected { "windowStart": "<ISO>" } or { "from": "<ISO>", "to": "<ISO>" }',
  );
}

async function work(event: unknown): Promise<WorkerResponse> {
  const config = getConfig();
  const range = parseWorkerEvent(event, config.windowMs);
  const { results } = await backfill(cloudDeps(config), {
    ...range,
    ...pipelineOptions(config),
    windowMs: config.windowMs,
  });
  metrics.addMetric('WindowsProcessed', MetricUnit.Count, results.length);
  return {
    windows: results.map((r) => ({
      windowStart: new Date(r.windowStartMs).toISOString(),
      traces: r.traces,
      spans: r.spans,
      rejected: r.rejected,
      findings: r.findings,
    })),
  };
}

export const handler = middy(work)
  .use(captureLambdaHandler(tracer))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .use(injectLambdaContext(logger));
