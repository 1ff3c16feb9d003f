/**
 * Deployment settings read from CDK context (`cdk.json` or `-c name=value`), validated once and
 * frozen. Every error names the context key and the bad value, so `cdk synth` says what to fix.
 */
import { parseDuration } from '../lib/config.js';
import { ConfigError } from '../lib/core/errors.js';

export interface TracelakeSettings {
  /** Use this existing bucket for the lake instead of creating one. */
  readonly lakeBucketName: string | undefined;
  /** Key prefix of the lake inside the bucket, without slashes at either end. */
  readonly lakePrefix: string;
  readonly windowMs: number;
  readonly lagMs: number;
  readonly maxWindowsPerRun: number;
  readonly metricsNamespace: string;
  readonly metricKeyCap: number;
  readonly writeSpans: boolean;
  readonly xrayFilterExpression: string | undefined;
  readonly xrayGroup: string | undefined;
  /** Requests per second the collector may make to the X-Ray API. */
  readonly xrayMaxRps: number;
  readonly xrayConcurrency: number;
  readonly regressionMinRatio: number;
  readonly regressionMinDeltaMs: number;
  readonly regressionMinSamples: number;
  /** E-mail address subscribed to the alarm topic. */
  readonly alarmEmail: string | undefined;
  /** Days after which `spans` objects move to S3 Standard-IA. */
  readonly spansTransitionDays: number;
  /** Days after which `spans` objects are deleted; undefined keeps them. */
  readonly spansExpirationDays: number | undefined;
  /** Days after which every other lake object (stats, traces, regressions) is deleted; undefined keeps them. */
  readonly lakeExpirationDays: number | undefined;
  /** Days after which `_rejected/` documents are deleted. */
  readonly rejectedExpirationDays: number;
  readonly logRetentionDays: number;
  /** Athena stops a query of the workgroup once it has scanned this many bytes. */
  readonly athenaBytesScannedCutoff: number;
  /** Window workers a backfill runs at once. */
  readonly backfillConcurrency: number;
  /** Length of the range one window-worker invocation processes during a backfill. */
  readonly backfillChunkMs: number;
  /** Optional `aws/spans` (Transaction Search) ingestion; see the slot in the stack. */
  readonly transactionSearch: boolean;
}

/** What a context lookup returns: `-c` values arrive as strings, `cdk.json` values keep their JSON type. */
export type ContextReader = (key: string) => unknown;

function text(ctx: ContextReader, key: string): string | undefined {
  const v = ctx(key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
    throw new ConfigError(`context ${key}: ${JSON.stringify(v)} is not a string, number or boolean`);
  }
  const s = String(v).trim();
  return s === '' ? undefined : s;
}

function int(ctx: ContextReader, key: string, fallback: number, min: number, max: number): number {
  const s = text(ctx, key);
  if (s === undefined) return fallback;
  if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max) {
    throw new ConfigError(`context ${key}: "${s}" must be a whole number from ${min} to ${max}`);
  }
  return Number(s);
}

function optionalDays(ctx: ContextReader, key: string): number | undefined {
  const s = text(ctx, key);
  if (s === undefined || s === 'never' || s === '0') return undefined;
  return int(ctx, key, 0, 1, 36_500);
}

function num(ctx: ContextReader, key: string, fallback: number, above: number): number {
  const s = text(ctx, key);
  if (s === undefined) return fallback;
  const n = Number(s);
  if (!Number.isFinite(n) || n <= above)
    throw new ConfigError(`context ${key}: "${s}" must be a number above ${above}`);
  return n;
}

function nonNegative(ctx: ContextReader, key: string, fallback: number): number {
  const s = text(ctx, key);
  if (s === undefined) return fallback;
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(`context ${key}: "${s}" must be a number >= 0`);
  return n;
}

function bool(ctx: ContextReader, key: string, fallback: boolean): boolean {
  const s = text(ctx, key)?.toLowerCase();
  if (s === undefined) return fallback;
  if (s === 'true' || s === '1' || s === 'yes') return true;
  if (s === 'false' || s === '0' || s === 'no') return false;
  throw new ConfigError(`context ${key}: "${s}" is not true or false`);
}

function duration(ctx: ContextReader, key: string, fallback: string): number {
  const s = text(ctx, key) ?? fallback;
  if (/^0+(ms|s|m|h|d)?$/.test(s)) return 0;
  return parseDuration(s, `context ${key}`);
}

/**
 * Reads and validates the deployment settings.
 *
 * @example
 * const settings = readSettings((key) => app.node.tryGetContext(key));
 * settings.windowMs === 300_000;
 * @throws ConfigError naming the context key and its bad value.
 */
export function readSettings(ctx: ContextReader): TracelakeSettings {
  const windowMs = duration(ctx, 'window', '5m');
  // EventBridge Scheduler rates are whole minutes; windows are UTC-aligned, so they divide a day.
  if (windowMs < 60_000 || windowMs % 60_000 !== 0 || 86_400_000 % windowMs !== 0) {
    throw new ConfigError(
      `context window: "${text(ctx, 'window')}" must be whole minutes that divide a day evenly (e.g. 1m, 5m, 15m, 1h)`,
    );
  }
  const backfillChunkMs = duration(ctx, 'backfillChunk', '1h');
  if (backfillChunkMs < windowMs || backfillChunkMs % windowMs !== 0) {
    throw new ConfigError(
      `context backfillChunk: "${text(ctx, 'backfillChunk')}" must be a whole number of windows (window is ${windowMs / 60_000}m)`,
    );
  }
  const lakePrefix = (text(ctx, 'lakePrefix') ?? 'tracelake').replace(/^\/+|\/+$/g, '');
  if (!/^[A-Za-z0-9][A-Za-z0-9._\-/]*$/.test(lakePrefix) || lakePrefix.includes('//')) {
    throw new ConfigError(
      `context lakePrefix: "${lakePrefix}" must be a non-empty S3 key prefix of letters, digits, . _ - /`,
    );
  }
  const lakeBucketName = text(ctx, 'lakeBucketName');
  if (lakeBucketName !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(lakeBucketName)) {
    throw new ConfigError(`context lakeBucketName: "${lakeBucketName}" is not a valid S3 bucket name`);
  }
  const metricsNamespace = text(ctx, 'metricsNamespace') ?? 'Tracelake';
  // Metrics Insights queries quote the namespace, so a double quote in it could not be queried.
  if (!/^[\w .#:/-]{1,255}$/.test(metricsNamespace) || metricsNamespace.startsWith(':')) {
    throw new ConfigError(
      `context metricsNamespace: "${metricsNamespace}" is not a valid CloudWatch namespace`,
    );
  }
  const alarmEmail = text(ctx, 'alarmEmail');
  if (alarmEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(alarmEmail)) {
    throw new ConfigError(`context alarmEmail: "${alarmEmail}" is not an e-mail address`);
  }
  const settings: TracelakeSettings = {
    lakeBucketName,
    lakePrefix,
    windowMs,
    lagMs: duration(ctx, 'lag', '3m'),
    maxWindowsPerRun: int(ctx, 'maxWindowsPerRun', 12, 1, 1000),
    metricsNamespace,
    metricKeyCap: int(ctx, 'metricKeyCap', 50, 0, 10_000),
    writeSpans: bool(ctx, 'writeSpans', true),
    xrayFilterExpression: text(ctx, 'xrayFilterExpression'),
    xrayGroup: text(ctx, 'xrayGroup'),
    xrayMaxRps: num(ctx, 'xrayMaxRps', 4, 0),
    xrayConcurrency: int(ctx, 'xrayConcurrency', 4, 1, 50),
    regressionMinRatio: num(ctx, 'regressionMinRatio', 1.2, 1),
    regressionMinDeltaMs: nonNegative(ctx, 'regressionMinDeltaMs', 5),
    regressionMinSamples: int(ctx, 'regressionMinSamples', 50, 1, 1_000_000),
    alarmEmail,
    spansTransitionDays: int(ctx, 'spansTransitionDays', 30, 30, 36_500),
    spansExpirationDays: optionalDays(ctx, 'spansExpirationDays'),
    lakeExpirationDays: optionalDays(ctx, 'lakeExpirationDays'),
    rejectedExpirationDays: int(ctx, 'rejectedExpirationDays', 30, 1, 36_500),
    logRetentionDays: int(ctx, 'logRetentionDays', 30, 1, 3653),
    athenaBytesScannedCutoff: int(ctx, 'athenaBytesScannedCutoffMb', 10_240, 10, 1_000_000_000) * 1024 * 1024,
    backfillConcurrency: int(ctx, 'backfillConcurrency', 2, 1, 40),
    backfillChunkMs,
    transactionSearch: bool(ctx, 'transactionSearch', false),
  };
  if (
    settings.spansExpirationDays !== undefined &&
    settings.spansExpirationDays <= settings.spansTransitionDays
  ) {
    throw new ConfigError(
      `context spansExpirationDays: "${settings.spansExpirationDays}" must be after spansTransitionDays (${settings.spansTransitionDays})`,
    );
  }
  return Object.freeze(settings);
}

/**
 * The environment the Lambda functions read (`lib/config.ts`), from the settings. The lake URI and
 * the metrics namespace are set by the grants that give access to them.
 */
export function pipelineEnvironment(s: TracelakeSettings): Record<string, string> {
  const env: Record<string, string> = {
    TRACELAKE_WINDOW: `${s.windowMs / 60_000}m`,
    TRACELAKE_LAG: `${s.lagMs / 1000}s`,
    TRACELAKE_MAX_WINDOWS_PER_RUN: String(s.maxWindowsPerRun),
    POWERTOOLS_SERVICE_NAME: 'tracelake',
    TRACELAKE_METRIC_KEY_CAP: String(s.metricKeyCap),
    TRACELAKE_WRITE_SPANS: String(s.writeSpans),
    TRACELAKE_XRAY_MAX_RPS: String(s.xrayMaxRps),
    TRACELAKE_XRAY_CONCURRENCY: String(s.xrayConcurrency),
    TRACELAKE_REGRESSION_MIN_RATIO: String(s.regressionMinRatio),
    TRACELAKE_REGRESSION_MIN_DELTA_MS: String(s.regressionMinDeltaMs),
    TRACELAKE_REGRESSION_MIN_SAMPLES: String(s.regressionMinSamples),
  };
  if (s.xrayFilterExpression !== undefined) env.TRACELAKE_XRAY_FILTER_EXPRESSION = s.xrayFilterExpression;
  if (s.xrayGroup !== undefined) env.TRACELAKE_XRAY_GROUP = s.xrayGroup;
  return env;
}
