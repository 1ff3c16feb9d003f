/** The `tracelake demo` traffic: a seeded generator of X-Ray traces and its BatchGetTraces writer. */
export {
  DEFAULT_BROKEN_DOCUMENTS,
  DEFAULT_HOURS,
  DEFAULT_IN_PROGRESS_FRACTION,
  DEFAULT_REGRESSION_FACTOR,
  DEFAULT_REQUESTS_PER_SECOND,
  DEFAULT_START_MS,
  type DemoOptions,
  type GeneratedTrace,
  generateTraces,
  type RegressionSpec,
  type ResolvedDemoOptions,
  resolveDemoOptions,
  type SegmentDocument,
} from './generate.js';
export { Random } from './random.js';
export { type DemoManifest, demoFileName, MANIFEST_FILE, writeDemoTraces } from './write.js';
