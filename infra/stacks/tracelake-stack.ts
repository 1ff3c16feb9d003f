/**
 * The whole of tracelake in one stack: lake bucket + Glue/Athena catalog, the scheduled collector,
 * the backfill state machine, saved queries, and the dashboard with its alarms.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { Backfill } from '../constructs/backfill.js';
import { LakeCatalog } from '../constructs/catalog.js';
import { Collector } from '../constructs/collector.js';
import { Lake } from '../constructs/lake.js';
import { Monitoring } from '../constructs/monitoring.js';
import { SavedQueries } from '../constructs/saved-queries.js';
import { SpansDelivery } from '../constructs/spans-delivery.js';
import { pipelineEnvironment, type TracelakeSettings } from '../settings.js';

export interface TracelakeStackProps extends StackProps {
  readonly settings: TracelakeSettings;
}

export class TracelakeStack extends Stack {
  readonly lake: Lake;
  readonly catalog: LakeCatalog;
  readonly collector: Collector;
  readonly backfill: Backfill;
  readonly savedQueries: SavedQueries;
  readonly monitoring: Monitoring;
  /** Present with `-c transactionSearch=true`. */
  readonly spansDelivery?: SpansDelivery;

  constructor(scope: Construct, id: string, props: TracelakeStackProps) {
    super(scope, id, props);
    const s = props.settings;
    const logRetention = retentionDays(s.logRetentionDays);

    this.lake = new Lake(this, 'Lake', {
      existingBucketName: s.lakeBucketName,
      prefix: s.lakePrefix,
      spansTransitionDays: s.spansTransitionDays,
      spansExpirationDays: s.spansExpirationDays,
      lakeExpirationDays: s.lakeExpirationDays,
      rejectedExpirationDays: s.rejectedExpirationDays,
    });
    this.catalog = new LakeCatalog(this, 'Catalog', {
      lake: this.lake,
      bytesScannedCutoffPerQuery: s.athenaBytesScannedCutoff,
    });

    const environment = pipelineEnvironment(s);
    this.collector = new Collector(this, 'Collector', { windowMs: s.windowMs, environment, logRetention });
    this.backfill = new Backfill(this, 'Backfill', {
      windowMs: s.windowMs,
      chunkMs: s.backfillChunkMs,
      concurrency: s.backfillConcurrency,
      xrayMaxRps: s.xrayMaxRps,
      xrayConcurrency: s.xrayConcurrency,
      environment,
      logRetention,
    });
    for (const fn of [this.collector.pipelineFunction, this.backfill.worker]) {
      this.lake.bindPipeline(fn.function);
      fn.grantXrayRead();
      fn.grantPutMetricData(s.metricsNamespace);
    }

    // Transaction Search accounts: `aws/spans` -> subscription filter -> Firehose -> the lake's raw
    // prefix, read by the same pipeline functions beside the X-Ray API.
    if (s.transactionSearch) {
      this.spansDelivery = new SpansDelivery(this, 'SpansDelivery', {
        bucket: this.lake.bucket,
        rawPrefix: `${this.lake.prefix}/_raw/aws-spans/`,
      });
      for (const fn of [this.collector.pipelineFunction, this.backfill.worker]) {
        this.spansDelivery.bindPipeline(fn.function);
      }
    }

    const logGroups = [this.collector.pipelineFunction.logGroup, this.backfill.worker.logGroup];
    this.savedQueries = new SavedQueries(this, 'SavedQueries', {
      databaseName: this.catalog.databaseName,
      workGroup: this.catalog.workGroup,
      logGroups,
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      namespace: s.metricsNamespace,
      windowMs: s.windowMs,
      lagMs: s.lagMs,
      regressionMinRatio: s.regressionMinRatio,
      collector: this.collector.pipelineFunction.function,
      collectorDeadLetters: this.collector.deadLetterQueue,
      worker: this.backfill.worker.function,
      backfill: this.backfill.stateMachine,
      logGroups,
      alarmEmail: s.alarmEmail,
    });

    new CfnOutput(this, 'LakeUri', {
      value: this.lake.uri,
      description: 'TRACELAKE_LAKE_URI of the deployed pipeline',
    });
    new CfnOutput(this, 'AthenaDatabase', { value: this.catalog.databaseName });
    new CfnOutput(this, 'AthenaWorkGroup', { value: this.catalog.workGroupName });
    new CfnOutput(this, 'BackfillStateMachineArn', {
      value: this.backfill.stateMachine.stateMachineArn,
      description: 'Start with {"from": "<ISO>", "to": "<ISO>"}',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
  }
}

/** The CloudWatch Logs retention equal to `days`, or the next longer one. */
export function retentionDays(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays)
    .filter(
      (v): v is logs.RetentionDays => typeof v === 'number' && v > 0 && v !== logs.RetentionDays.INFINITE,
    )
    .sort((a, b) => a - b);
  return allowed.find((v) => v >= days) ?? logs.RetentionDays.TEN_YEARS;
}
