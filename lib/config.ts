/**
 * Configuration from environment variables, read once, validated and frozen. Every error names
 * the variable and the bad value, so a misconfigured Lambda fails on its first invocation with a
 * message that says what to fix.
 */
import { parseDuration as parseDurationText } from './core/duration.js';
import { ConfigError } from './core/errors.js';

export interface RegressionEnv {
  readonly minRatio: number;
  readonly minDeltaMs: number;
  readonly minSamples: number;
}

export interface TracelakeConfig {
  /** `s3://bucket/prefix` or a local folder. */
  readonly lakeUri: string;
  readonly windowMs: number;
  /** How long after a window ends before it is processed, for late segments. */
  readonly lagMs: number;
  readonly maxWindowsPerRun: number;
  readonly metricsNamespace: string;
  readonly metricKeyCap: number;
  readonly writeSpans: boolean;
  readonly xrayFilterExpression: string | undefined;
  readonly xrayGroup: string | undefined;
  readonly xrayMaxRps: number;
  readonly xrayConcurrency: number;
  readonly regression: RegressionEnv;
  readonly spansRawPrefix: string | undefined;
  readonly parquetWasmPath: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses a duration such as `5m`, `90s`, `1h30m` or `250ms` into milliseconds.
 *
 * @example parseDuration('5m', 'TRACELAKE_WINDOW') === 300_000
 * @throws ConfigError naming `what` and the bad text.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const ms = parseDurationText(text);
  if (ms === null || !Number.isFinite(ms)) {
    throw new ConfigError(`${what}: "${text}" is not a duration (examples: 5m, 90s, 1h, 250ms)`);
  }
  return Math.round(ms);
}

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function duration(env: Env, name: string, fallback: string, allowZero = false): number {
  const v = str(env, name) ?? fallback;
  const ms = parseDuration(v, name);
  if (ms === 0 && !allowZero) throw new ConfigError(`${name}: "${v}" must be longer than zero`);
  return ms;
}

function positiveInt(env: Env, name: string, fallback: number): number {
  const v = str(env, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < 1) {
    throw new ConfigError(`${name}: "${v}" is not a positive whole number`);
  }
  return Number(v);
}

function nonNegativeInt(env: Env, name: string, fallback: number): number {
  const v = str(env, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v)) throw new ConfigError(`${name}: "${v}" is not a whole number >= 0`);
  return Number(v);
}

function positiveNumber(env: Env, name: string, fallback: number, min = 0): number {
  const v = str(env, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= min) throw new ConfigError(`${name}: "${v}" must be a number above ${min}`);
  return n;
}

function nonNegativeNumber(env: Env, name: string, fallback: number): number {
  const v = str(env, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(`${name}: "${v}" must be a number >= 0`);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const v = str(env, name);
  if (v === undefined) return fallback;
  const lower = v.toLowerCase();
  if (['true', '1', 'yes'].includes(lower)) return true;
  if (['false', '0', 'no'].includes(lower)) return false;
  throw new ConfigError(`${name}: "${v}" is not a boolean (true or false)`);
}

function lakeUri(env: Env): string {
  const name = 'TRACELAKE_LAKE_URI';
  const v = str(env, name);
  if (v === undefined) throw new ConfigError(`${name} is not set (expected s3://bucket/prefix or a folder)`);
  if (v.startsWith('s3://') && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(v)) {
    throw new ConfigError(`${name}: "${v}" is not a valid s3://bucket/prefix URI`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v) && !v.startsWith('s3://') && !v.startsWith('file://')) {
    throw new ConfigError(`${name}: "${v}" has an unsupported scheme (use s3:// or a folder)`);
  }
  return v;
}

/**
 * Reads and validates the configuration from `env`. Pure in `env`: tests pass their own object.
 *
 * @example
 * const config = loadConfig({ TRACELAKE_LAKE_URI: 's3://my-lake/tl' });
 * config.windowMs === 300_000 && config.lagMs === 180_000;
 * @throws ConfigError naming the variable and its bad value.
 */
export function loadConfig(env: Env): TracelakeConfig {
  const windowMs = duration(env, 'TRACELAKE_WINDOW', '5m');
  if (86_400_000 % windowMs !== 0) {
    throw new ConfigError(
      `TRACELAKE_WINDOW: "${str(env, 'TRACELAKE_WINDOW')}" must divide a day evenly (windows are UTC-aligned)`,
    );
  }
  const config: TracelakeConfig = {
    lakeUri: lakeUri(env),
    windowMs,
    lagMs: duration(env, 'TRACELAKE_LAG', '3m', true),
    maxWindowsPerRun: positiveInt(env, 'TRACELAKE_MAX_WINDOWS_PER_RUN', 12),
    metricsNamespace: str(env, 'TRACELAKE_METRICS_NAMESPACE') ?? 'Tracelake',
    metricKeyCap: nonNegativeInt(env, 'TRACELAKE_METRIC_KEY_CAP', 50),
    writeSpans: bool(env, 'TRACELAKE_WRITE_SPANS', true),
    xrayFilterExpression: str(env, 'TRACELAKE_XRAY_FILTER_EXPRESSION'),
    xrayGroup: str(env, 'TRACELAKE_XRAY_GROUP'),
    xrayMaxRps: positiveNumber(env, 'TRACELAKE_XRAY_MAX_RPS', 4),
    xrayConcurrency: positiveInt(env, 'TRACELAKE_XRAY_CONCURRENCY', 4),
    regression: Object.freeze({
      minRatio: positiveNumber(env, 'TRACELAKE_REGRESSION_MIN_RATIO', 1.2, 1),
      minDeltaMs: nonNegativeNumber(env, 'TRACELAKE_REGRESSION_MIN_DELTA_MS', 5),
      minSamples: positiveInt(env, 'TRACELAKE_REGRESSION_MIN_SAMPLES', 50),
    }),
    spansRawPrefix: str(env, 'TRACELAKE_SPANS_RAW_PREFIX'),
    parquetWasmPath: str(env, 'TRACELAKE_PARQUET_WASM'),
  };
  const ns = config.metricsNamespace;
  if (ns.length > 255 || ns.startsWith(':') || !/^[\w .#:/-]+$/.test(ns)) {
    throw new ConfigError(`TRACELAKE_METRICS_NAMESPACE: "${ns}" is not a valid CloudWatch namespace`);
  }
  return Object.freeze(config);
}

let cached: TracelakeConfig | undefined;

/** The process configuration, read from `process.env` on first use and kept for the container's life. */
export function getConfig(): TracelakeConfig {
  cached ??= loadConfig(process.env);
  return cached;
}

/** Forgets the cached configuration (tests that change the environment between cases). */
export function resetConfigForTests(): void {
  cached = undefined;
}
