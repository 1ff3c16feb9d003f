/**
 * Watching tracelake and what it finds: an encrypted SNS topic (optional e-mail subscription),
 * alarms (any degrading subsegment, pipeline failing, lag growing, backfill failing) and a
 * dashboard (slowest subsegments, regression ratios, pipeline health, findings with trace IDs).
 *
 * Per-subsegment views and the regression alarm use Metrics Insights, so one query covers every
 * key without a metric per key in the template.
 */
import { Aws, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { LOG_QUERIES } from './saved-queries.js';

export interface MonitoringProps {
  readonly namespace: string;
  readonly windowMs: number;
  readonly lagMs: number;
  /** The regression detector's minimum ratio: the alarm fires on a finding at least this large. */
  readonly regressionMinRatio: number;
  readonly collector: lambda.IFunction;
  readonly collectorDeadLetters: sqs.IQueue;
  readonly worker: lambda.IFunction;
  readonly backfill: sfn.IStateMachine;
  readonly logGroups: readonly logs.ILogGroup[];
  /** @default - no e-mail subscription */
  readonly alarmEmail?: string;
  /** @default 'tracelake' */
  readonly dashboardName?: string;
}

/**
 * Metrics Insights queries over the tracelake namespace. The namespace is quoted so any valid
 * namespace works; `SCHEMA(ns, Service, Subsegment)` selects exactly the per-key series.
 *
 * @example metricsInsights('Tracelake').regressionRatio
 * // => 'SELECT MAX(RegressionRatio) FROM SCHEMA("Tracelake", Service, Subsegment)'
 */
export function metricsInsights(namespace: string) {
  const perKey = `SCHEMA("${namespace}", Service, Subsegment)`;
  return {
    /** One series: the largest ratio among all keys; the alarm watches this. */
    regressionRatio: `SELECT MAX(RegressionRatio) FROM ${perKey}`,
    regressionRatioByKey: `SELECT MAX(RegressionRatio) FROM ${perKey} GROUP BY Service, Subsegment ORDER BY MAX() DESC LIMIT 10`,
    /** Metrics Insights has no percentile functions: it ranks by the largest value of the window. */
    worstLatencyByKey: `SELECT MAX(Latency) FROM ${perKey} GROUP BY Service, Subsegment ORDER BY MAX() DESC LIMIT 10`,
    requestsByKey: `SELECT SUM(Requests) FROM ${perKey} GROUP BY Service, Subsegment ORDER BY SUM() DESC LIMIT 10`,
    faultsByKey: `SELECT SUM(Faults) FROM ${perKey} GROUP BY Service, Subsegment ORDER BY SUM() DESC LIMIT 10`,
    // Health metrics are aggregated over whatever dimensions they carry.
    degradingSubsegments: `SELECT MAX(DegradingSubsegments) FROM "${namespace}"`,
    tracesProcessed: `SELECT SUM(TracesProcessed) FROM "${namespace}"`,
    documentsRejected: `SELECT SUM(DocumentsRejected) FROM "${namespace}"`,
    lagSeconds: `SELECT MAX(LagSeconds) FROM "${namespace}"`,
  };
}

/**
 * True p99 per key, ranked: a SEARCH with the p99 statistic (CloudWatch computes it from the
 * Values/Counts the pipeline publishes), sorted by its maximum, top 10.
 */
export function p99SearchExpression(namespace: string, periodSeconds: number): string {
  return `SORT(SEARCH('{"${namespace}",Service,Subsegment} MetricName="Latency"', 'p99', ${periodSeconds}), MAX, DESC, 10)`;
}

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly topicKey: kms.Key;
  readonly dashboard: cloudwatch.Dashboard;
  readonly degradingAlarm: cloudwatch.Alarm;
  readonly collectorFailingAlarm: cloudwatch.Alarm;
  readonly deadLettersAlarm: cloudwatch.Alarm;
  readonly lagAlarm: cloudwatch.Alarm;
  readonly backfillFailedAlarm: cloudwatch.Alarm;
  /** Seconds of `LagSeconds` above which the lag alarm fires. */
  readonly lagThresholdSeconds: number;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const period = Duration.millis(props.windowMs);
    const q = metricsInsights(props.namespace);

    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: 'tracelake alarm topic encryption',
      enableKeyRotation: true,
      // Explicit actions instead of the default `kms:*` for the account.
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'AccountAdministersTheKey',
            principals: [new iam.AccountRootPrincipal()],
            actions: [
              'kms:CancelKeyDeletion',
              'kms:CreateAlias',
              'kms:CreateGrant',
              'kms:DeleteAlias',
              'kms:DescribeKey',
              'kms:DisableKey',
              'kms:DisableKeyRotation',
              'kms:EnableKey',
              'kms:EnableKeyRotation',
              'kms:GetKeyPolicy',
              'kms:GetKeyRotationStatus',
              'kms:ListGrants',
              'kms:ListResourceTags',
              'kms:PutKeyPolicy',
              'kms:RevokeGrant',
              'kms:ScheduleKeyDeletion',
              'kms:TagResource',
              'kms:UntagResource',
              'kms:UpdateAlias',
              'kms:UpdateKeyDescription',
            ],
            resources: ['*'],
          }),
          new iam.PolicyStatement({
            sid: 'CloudWatchAlarmsPublish',
            principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
            actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
            resources: ['*'],
          }),
        ],
      }),
    });

    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'tracelake alarms',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnLike: {
            'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*`,
          },
        },
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const notify = new actions.SnsAction(this.topic);

    const insights = (expression: string, label: string) =>
      new cloudwatch.MathExpression({ expression, label, period, usingMetrics: {} });

    this.degradingAlarm = new cloudwatch.Alarm(this, 'DegradingSubsegment', {
      alarmDescription: `A subsegment's latency regressed (ratio >= ${props.regressionMinRatio}). Open the dashboard's findings widget or the "tracelake/regressions with X-Ray trace IDs" Logs Insights query for the key and its trace IDs.`,
      metric: insights(q.regressionRatio, 'worst regression ratio'),
      threshold: props.regressionMinRatio,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // RegressionRatio is published only for findings: no data means no regression.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.collectorFailingAlarm = new cloudwatch.Alarm(this, 'CollectorFailing', {
      alarmDescription:
        'The collector failed in two consecutive windows. See the "tracelake/errors and timeouts" query.',
      metric: props.collector.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.deadLettersAlarm = new cloudwatch.Alarm(this, 'CollectorDeadLetters', {
      alarmDescription:
        'Collector invocations failed or could not be delivered; they are in the dead-letter queue.',
      metric: props.collectorDeadLetters.metricApproximateNumberOfMessagesVisible({
        period,
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // Normal lag is up to one window plus the configured lag; three windows more means falling behind.
    this.lagThresholdSeconds = Math.round((props.lagMs + 4 * props.windowMs) / 1000);
    this.lagAlarm = new cloudwatch.Alarm(this, 'LagGrowing', {
      alarmDescription: `The newest processed window is more than ${this.lagThresholdSeconds} s old, or no window was processed for three windows.`,
      metric: insights(q.lagSeconds, 'lag (s)'),
      threshold: this.lagThresholdSeconds,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      // A collector that stops publishing is behind too.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    this.backfillFailedAlarm = new cloudwatch.Alarm(this, 'BackfillFailed', {
      alarmDescription: 'A backfill execution failed, timed out or was aborted.',
      metric: new cloudwatch.MathExpression({
        expression: 'failed + timedOut + aborted',
        label: 'failed backfills',
        period,
        usingMetrics: {
          failed: props.backfill.metricFailed({ period, statistic: cloudwatch.Stats.SUM }),
          timedOut: props.backfill.metricTimedOut({ period, statistic: cloudwatch.Stats.SUM }),
          aborted: props.backfill.metricAborted({ period, statistic: cloudwatch.Stats.SUM }),
        },
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const alarms = [
      this.degradingAlarm,
      this.collectorFailingAlarm,
      this.deadLettersAlarm,
      this.lagAlarm,
      this.backfillFailedAlarm,
    ];
    for (const alarm of alarms) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }

    const periodSeconds = period.toSeconds();
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? `tracelake-${Stack.of(this).region}`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# tracelake\nPer-subsegment latency from X-Ray, namespace \`${props.namespace}\`, ${periodSeconds / 60}-minute windows. Findings at the bottom carry X-Ray trace IDs; Athena named queries start with \`tracelake:\`.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Slowest subsegments: p99 (ms), top 10',
        left: [
          new cloudwatch.MathExpression({
            expression: p99SearchExpression(props.namespace, periodSeconds),
            label: '',
            period,
            usingMetrics: {},
          }),
        ],
        width: 12,
        height: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Slowest subsegments: worst latency per window (ms), Metrics Insights',
        left: [insights(q.worstLatencyByKey, '')],
        width: 12,
        height: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Regression ratio (current / baseline) of degrading subsegments',
        left: [insights(q.regressionRatioByKey, '')],
        leftAnnotations: [{ value: props.regressionMinRatio, label: 'alarm', color: '#d62728' }],
        width: 12,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Degrading subsegments',
        left: [insights(q.degradingSubsegments, 'degrading subsegments')],
        width: 6,
        height: 6,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 6, height: 6 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Traces processed',
        left: [insights(q.tracesProcessed, 'traces')],
        width: 6,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Documents rejected',
        left: [insights(q.documentsRejected, 'rejected')],
        width: 6,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Lag (s): now minus the end of the newest processed window',
        left: [insights(q.lagSeconds, 'lag')],
        leftAnnotations: [{ value: this.lagThresholdSeconds, label: 'alarm', color: '#d62728' }],
        width: 6,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Errors',
        left: [
          props.collector.metricErrors({
            period,
            statistic: cloudwatch.Stats.SUM,
            label: 'collector errors',
          }),
          props.worker.metricErrors({ period, statistic: cloudwatch.Stats.SUM, label: 'worker errors' }),
          props.collectorDeadLetters.metricApproximateNumberOfMessagesVisible({
            period,
            statistic: cloudwatch.Stats.MAXIMUM,
            label: 'dead letters',
          }),
          props.backfill.metricFailed({ period, statistic: cloudwatch.Stats.SUM, label: 'failed backfills' }),
        ],
        width: 6,
        height: 6,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.LogQueryWidget({
        title: 'Regression findings with X-Ray trace IDs',
        logGroupNames: props.logGroups.map((g) => g.logGroupName),
        queryString: new logs.QueryString(LOG_QUERIES.findings).toString(),
        view: cloudwatch.LogQueryVisualizationType.TABLE,
        width: 24,
        height: 8,
      }),
    );
  }
}
