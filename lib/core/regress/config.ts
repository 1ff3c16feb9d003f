/**
 * Settings of regression detection. Every field has a default; the pipeline passes a partial
 * object (from `TRACELAKE_REGRESSION_*` variables or CLI flags) and {@link resolveRegressionConfig}
 * fills and checks the rest.
 */
import { ConfigError } from '../errors.js';

export interface RegressionConfig {
  /** Practical significance: current / baseline must reach this ratio. */
  readonly minRatio: number;
  /** Practical significance: current − baseline must reach this many ms (0.2 → 0.4 ms is no incident). */
  readonly minDeltaMs: number;
  /** Fewest samples in the current windows for a key to be tested at all. */
  readonly minSamples: number;
  /** False discovery rate across every test made in one window (Benjamini–Hochberg). */
  readonly fdr: number;
  /**
   * Benjamini–Hochberg's bar loosens with every finding in a window; here it stops loosening after
   * this many, so a window where many keys really change does not let chance through elsewhere.
   */
  readonly fdrMaxFindings: number;
  /** Windows merged into the recent baseline (they end where the current windows begin). */
  readonly baselineWindows: number;
  /** Fewest baseline windows with data for a step test. */
  readonly minBaselineWindows: number;
  /** Windows merged as "current" (the newest ones); 2 = a step is confirmed by a second window. */
  readonly currentWindows: number;
  /** A rare key's current side grows up to this many windows to reach minSamples. */
  readonly maxCurrentWindows: number;
  /**
   * Windows behind the newest one that can be re-processed with exactly the first result: the
   * sketch ring keeps this many windows beyond what the newest window's tests need.
   */
  readonly reprocessWindows: number;
  /** Length of the short drift series in windows (72 × 5 min = 6 h). */
  readonly driftWindows: number;
  /** Length of the long drift series in hours (a whole number of days so the daily pattern cancels). */
  readonly longDriftHours: number;
  /** Rise of the fitted trend over a drift series that counts as a drift. */
  readonly driftMinRatio: number;
  /** Days of hourly history kept for the seasonal (same hour on previous days) baseline. */
  readonly seasonalDays: number;
  /** Windows of per-window percentiles kept per key (onset, drifts, new versions). */
  readonly historyWindows: number;
  /** Trace IDs kept per window in the baseline state and reported per side of a finding. */
  readonly exemplars: number;
}

export const DEFAULT_REGRESSION_CONFIG: RegressionConfig = Object.freeze({
  minRatio: 1.2,
  minDeltaMs: 5,
  minSamples: 50,
  fdr: 0.01,
  fdrMaxFindings: 5,
  baselineWindows: 12,
  minBaselineWindows: 6,
  currentWindows: 2,
  maxCurrentWindows: 6,
  reprocessWindows: 12,
  driftWindows: 72,
  longDriftHours: 72,
  driftMinRatio: 1.2,
  seasonalDays: 7,
  historyWindows: 576,
  exemplars: 5,
});

const INTEGER_FIELDS = new Set<keyof RegressionConfig>([
  'minSamples',
  'fdrMaxFindings',
  'baselineWindows',
  'minBaselineWindows',
  'currentWindows',
  'maxCurrentWindows',
  'reprocessWindows',
  'driftWindows',
  'longDriftHours',
  'seasonalDays',
  'historyWindows',
  'exemplars',
]);

/**
 * Defaults filled in and every value checked.
 *
 * @throws ConfigError naming the field and the bad value.
 * @example resolveRegressionConfig({ minRatio: 1.5 }).minDeltaMs === 5
 */
export function resolveRegressionConfig(partial: Partial<RegressionConfig> = {}): RegressionConfig {
  const config: Record<string, number> = { ...DEFAULT_REGRESSION_CONFIG };
  for (const [name, value] of Object.entries(partial)) {
    if (value === undefined) continue;
    if (!(name in DEFAULT_REGRESSION_CONFIG))
      throw new ConfigError(`regression setting "${name}" is unknown`);
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ConfigError(`regression setting ${name} must be a finite number, got ${String(value)}`);
    }
    config[name] = value;
  }
  const c = config as unknown as RegressionConfig;
  for (const name of INTEGER_FIELDS) {
    if (!Number.isInteger(c[name]) || c[name] < 1) {
      throw new ConfigError(`regression setting ${name} must be a whole number >= 1, got ${c[name]}`);
    }
  }
  if (!(c.minRatio > 1)) throw new ConfigError(`regression setting minRatio must be > 1, got ${c.minRatio}`);
  if (!(c.driftMinRatio > 1)) {
    throw new ConfigError(`regression setting driftMinRatio must be > 1, got ${c.driftMinRatio}`);
  }
  if (!(c.minDeltaMs >= 0))
    throw new ConfigError(`regression setting minDeltaMs must be >= 0, got ${c.minDeltaMs}`);
  if (!(c.fdr > 0 && c.fdr < 1))
    throw new ConfigError(`regression setting fdr must be in (0, 1), got ${c.fdr}`);
  if (c.minBaselineWindows > c.baselineWindows) {
    throw new ConfigError(
      `regression setting minBaselineWindows (${c.minBaselineWindows}) exceeds baselineWindows (${c.baselineWindows})`,
    );
  }
  if (c.maxCurrentWindows < c.currentWindows) {
    throw new ConfigError(
      `regression setting maxCurrentWindows (${c.maxCurrentWindows}) is below currentWindows (${c.currentWindows})`,
    );
  }
  if (c.driftWindows < 8)
    throw new ConfigError(`regression setting driftWindows must be >= 8, got ${c.driftWindows}`);
  return Object.freeze(c);
}
