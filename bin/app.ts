/**
 * The CDK app that `cdk.json` runs: `npx cdk synth`, `npx cdk deploy` (see docs/deploy.md).
 * Settings come from CDK context (`cdk.json`, `-c key=value`); cdk-nag's AwsSolutions pack runs
 * on every synth and stops it on any finding not acknowledged with a reason.
 */
import { buildTracelakeApp } from '../infra/app.js';

buildTracelakeApp();
