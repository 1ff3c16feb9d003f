import { describe, expect, it } from 'vitest';
import { loadConfig, parseDuration } from '../lib/config.js';
import { ConfigError } from '../lib/core/errors.js';

const LAKE = { TRACELAKE_LAKE_URI: 's3://my-lake/tl' };

describe('loadConfig', () => {
  it('applies the documented defaults and freezes the result', () => {
    const config = loadConfig(LAKE);
    expect(config).toMatchObject({
      lakeUri: 's3://my-lake/tl',
      windowMs: 300_000,
      lagMs: 180_000,
      maxWindowsPerRun: 12,
      metricsNamespace: 'Tracelake',
      metricKeyCap: 50,
      writeSpans: true,
      xrayMaxRps: 4,
      xrayConcurrency: 4,
      regression: { minRatio: 1.2, minDeltaMs: 5, minSamples: 50 },
    });
    expect(config.xrayFilterExpression).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.regression)).toBe(true);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      ...LAKE,
      TRACELAKE_WINDOW: '1m',
      TRACELAKE_LAG: '0',
      TRACELAKE_MAX_WINDOWS_PER_RUN: '3',
      TRACELAKE_METRICS_NAMESPACE: 'Shop/Tracelake',
      TRACELAKE_METRIC_KEY_CAP: '0',
      TRACELAKE_WRITE_SPANS: 'false',
      TRACELAKE_XRAY_FILTER_EXPRESSION: 'service("orders")',
      TRACELAKE_XRAY_GROUP: 'checkout',
      TRACELAKE_XRAY_MAX_RPS: '2.5',
      TRACELAKE_XRAY_CONCURRENCY: '2',
      TRACELAKE_REGRESSION_MIN_RATIO: '1.5',
      TRACELAKE_REGRESSION_MIN_DELTA_MS: '0',
      TRACELAKE_REGRESSION_MIN_SAMPLES: '20',
      TRACELAKE_SPANS_RAW_PREFIX: 'raw/spans/',
      TRACELAKE_PARQUET_WASM: '/opt/parquet_wasm_bg.wasm',
    });
    expect(config).toMatchObject({
      windowMs: 60_000,
      lagMs: 0,
      maxWindowsPerRun: 3,
      metricsNamespace: 'Shop/Tracelake',
      metricKeyCap: 0,
      writeSpans: false,
      xrayFilterExpression: 'service("orders")',
      xrayGroup: 'checkout',
      xrayMaxRps: 2.5,
      xrayConcurrency: 2,
      regression: { minRatio: 1.5, minDeltaMs: 0, minSamples: 20 },
      spansRawPrefix: 'raw/spans/',
      parquetWasmPath: '/opt/parquet_wasm_bg.wasm',
    });
  });

  it.each([
    [{}, /TRACELAKE_LAKE_URI is not set/],
    [{ TRACELAKE_LAKE_URI: 's3://A_B/x' }, /TRACELAKE_LAKE_URI: "s3:\/\/A_B\/x"/],
    [
      { TRACELAKE_LAKE_URI: 'gs://bucket/x' },
      /TRACELAKE_LAKE_URI: "gs:\/\/bucket\/x" has an unsupported scheme/,
    ],
    [{ ...LAKE, TRACELAKE_WINDOW: 'five minutes' }, /TRACELAKE_WINDOW: "five minutes" is not a duration/],
    [{ ...LAKE, TRACELAKE_WINDOW: '7m' }, /TRACELAKE_WINDOW: "7m" must divide a day evenly/],
    [{ ...LAKE, TRACELAKE_WINDOW: '0' }, /TRACELAKE_WINDOW: "0" must be longer than zero/],
    [
      { ...LAKE, TRACELAKE_MAX_WINDOWS_PER_RUN: '0' },
      /TRACELAKE_MAX_WINDOWS_PER_RUN: "0" is not a positive whole number/,
    ],
    [{ ...LAKE, TRACELAKE_METRIC_KEY_CAP: '-1' }, /TRACELAKE_METRIC_KEY_CAP: "-1"/],
    [{ ...LAKE, TRACELAKE_WRITE_SPANS: 'maybe' }, /TRACELAKE_WRITE_SPANS: "maybe" is not a boolean/],
    [{ ...LAKE, TRACELAKE_XRAY_MAX_RPS: '0' }, /TRACELAKE_XRAY_MAX_RPS: "0" must be a number above 0/],
    [{ ...LAKE, TRACELAKE_XRAY_CONCURRENCY: '1.5' }, /TRACELAKE_XRAY_CONCURRENCY: "1.5"/],
    [
      { ...LAKE, TRACELAKE_REGRESSION_MIN_RATIO: '0.9' },
      /TRACELAKE_REGRESSION_MIN_RATIO: "0.9" must be a number above 1/,
    ],
    [{ ...LAKE, TRACELAKE_METRICS_NAMESPACE: ':bad' }, /TRACELAKE_METRICS_NAMESPACE: ":bad"/],
  ])('names the variable and the bad value: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('parseDuration', () => {
  it('reads compound durations and names what it parsed on error', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(() => parseDuration('soon', 'context lag')).toThrow('context lag: "soon" is not a duration');
  });
});
