/**
 * Regression detection: steps and drifts of per-key latency percentiles, with onset, evidence and
 * seasonality handling. See docs/regressions.md for the method in plain words.
 */
export { DEFAULT_REGRESSION_CONFIG, type RegressionConfig, resolveRegressionConfig } from './config.js';
export { applyWindow, detectWindow, detectWindows, severityOf, type WindowStats } from './detector.js';
export {
  decodeBaseline,
  emptyBaseline,
  encodeBaseline,
  type HourPoint,
  type KeyBaseline,
  type RingEntry,
  type SeriesPoint,
} from './state.js';
