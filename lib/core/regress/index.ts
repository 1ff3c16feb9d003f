/**
 * Regression detection: steps and drifts of per-key latency percentiles, with onset, evidence and
 * seasonality handling. See docs/regressions.md for the method in plain words.
 */
export { DEFAULT_REGRESSION_CONFIG, type RegressionConfig, resolveRegressionConfig } from './config.js';
export {
  applyWindow,
  type DiagnosticSink,
  detectWindow,
  detectWindows,
  type Gate,
  severityOf,
  type TestDiagnostic,
  type WindowStats,
} from './detector.js';
export {
  decodeBaseline,
  emptyBaseline,
  encodeBaseline,
  type HourPoint,
  type KeyBaseline,
  type RingEntry,
  type SeriesPoint,
} from './state.js';
