/**
 * Builds the tracelake CDK app. `bin/app.ts` (what `cdk.json` runs) and the infra tests share it,
 * so the tests check exactly what `cdk synth` produces.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { REPO_ROOT } from './constructs/pipeline-function.js';
import { readSettings, type TracelakeSettings } from './settings.js';
import { TracelakeStack } from './stacks/tracelake-stack.js';

export interface TracelakeApp {
  readonly app: App;
  readonly stack: TracelakeStack;
  readonly settings: TracelakeSettings;
}

export interface BuildOptions extends AppProps {
  /** Run cdk-nag's AwsSolutions checks at synth. @default true */
  readonly nag?: boolean;
}

/**
 * Creates the app and the `Tracelake` stack (name from context `stackName`).
 *
 * @example
 * const { app } = buildTracelakeApp();
 * app.synth();
 */
export function buildTracelakeApp(options: BuildOptions = {}): TracelakeApp {
  const app = new App(options);
  const settings = readSettings((key) => app.node.tryGetContext(key));
  const stackName = app.node.tryGetContext('stackName');
  const stack = new TracelakeStack(
    app,
    typeof stackName === 'string' && stackName ? stackName : 'Tracelake',
    {
      settings,
      description: 'tracelake: X-Ray trace analytics (Parquet lake, Athena, regressions, alarms)',
    },
  );
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, settings };
}

/** The `context` of `cdk.json`: feature flags and settings, for apps built outside the CLI (tests). */
export function cdkJsonContext(): Record<string, unknown> {
  const parsed: unknown = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || !('context' in parsed)) return {};
  const context = parsed.context;
  return typeof context === 'object' && context !== null ? { ...context } : {};
}
