/** Lake → HTML in one call, for the CLI and the demo. */
import type { ObjectStore } from '../core/ports.js';
import { renderReport } from './html.js';
import { type LoadReportOptions, loadReportInput } from './load.js';
import { buildReportModel, type ReportModel, type ReportOptions } from './model.js';

/**
 * Loads the lake, builds the model and renders the page.
 *
 * @example
 * const { html, model } = await makeReport({ dir: 'tracelake-demo/lake' }, { region: 'us-east-1' });
 */
export async function makeReport(
  lake: { readonly dir: string } | { readonly store: ObjectStore },
  options: LoadReportOptions & ReportOptions,
): Promise<{ html: string; model: ReportModel }> {
  const input = await loadReportInput(lake, options);
  const model = buildReportModel(input, options);
  return { html: renderReport(model), model };
}
