/** The HTML report: lake rows → model → one self-contained page. */
export { renderReport, xrayTraceUrl } from './html.js';
export {
  copyLakeObjects,
  type LoadReportOptions,
  loadReportInput,
  partitionInRange,
  type ReportRange,
  readReportRows,
} from './load.js';
export { makeReport } from './make.js';
export {
  buildReportModel,
  type FindingGroup,
  groupFindings,
  type KeyChart,
  type ReportFindingRow,
  type ReportInput,
  type ReportModel,
  type ReportOptions,
  type ReportStatsRow,
  type RootCause,
  rootCauseOf,
  rootCauses,
  type SelfTime,
  type SelfTimeRow,
  serviceTimes,
} from './model.js';
