/**
 * The scheduled collector: an EventBridge Scheduler schedule invokes it once per window; it
 * processes the windows that are due. Reserved concurrency 1 because the exactly-once design is
 * a single writer under a lease (lib/pipeline/collector.ts); failed invocations land in a queue.
 */
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { PipelineFunction } from './pipeline-function.js';

export interface CollectorProps {
  readonly windowMs: number;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
  /** @default 1024 */
  readonly memorySize?: number;
}

export class Collector extends Construct {
  readonly pipelineFunction: PipelineFunction;
  readonly deadLetterQueue: sqs.Queue;
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: CollectorProps) {
    super(scope, id);
    const windowMinutes = props.windowMs / 60_000;

    this.pipelineFunction = new PipelineFunction(this, 'Function', {
      entry: 'functions/collector/handler.ts',
      description: 'tracelake collector: processes the due X-Ray windows into the lake',
      environment: props.environment,
      logRetention: props.logRetention,
      memorySize: props.memorySize,
      // One run at a time: the lease serializes writers, this keeps scheduled runs from even trying.
      reservedConcurrentExecutions: 1,
    });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter destination of the collector; it needs no queue of its own.',
    });

    // No retries: the next scheduled run picks up every window that is still due.
    this.pipelineFunction.function.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge: Duration.hours(1),
      onFailure: new SqsDestination(this.deadLetterQueue),
    });

    const fn = this.pipelineFunction.function;
    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'Lets the tracelake schedule invoke the collector',
    });
    Validations.of(scheduleRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason: 'lambda:InvokeFunction on the collector and its qualified versions only.',
    });

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `Runs the tracelake collector every ${windowMinutes} minute window`,
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(windowMinutes)),
      target: new targets.LambdaInvoke(fn, {
        role: scheduleRole,
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 2,
        maxEventAge: Duration.minutes(windowMinutes),
      }),
    });
  }
}
