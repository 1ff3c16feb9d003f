/**
 * Backfill at scale: a Step Functions state machine started with `{ "from": "<ISO>", "to": "<ISO>" }`
 * plans the range as chunks of whole windows (a JSONata expression, no extra function) and runs
 * the window worker over them with a Distributed Map. Concurrency is bounded twice, by the map's
 * MaxConcurrency and by the worker's reserved concurrency, and each worker gets an equal share
 * of the X-Ray request budget, so a backfill as a whole stays within `xrayMaxRps`.
 */
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { PipelineFunction } from './pipeline-function.js';

export interface BackfillProps {
  readonly windowMs: number;
  /** Length of the range one worker invocation processes; a whole number of windows. */
  readonly chunkMs: number;
  /** Workers at once. */
  readonly concurrency: number;
  /** X-Ray requests per second for the whole backfill, shared equally by the workers. */
  readonly xrayMaxRps: number;
  /** BatchGetTraces calls in flight for the whole backfill, shared equally by the workers. */
  readonly xrayConcurrency: number;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
  /**
   * Most chunks one execution may plan; the Map's item list must stay well inside the 256 KiB
   * state payload limit (one chunk is about 60 bytes).
   * @default 2000
   */
  readonly maxChunks?: number;
  /** @default 1024 */
  readonly memorySize?: number;
}

/**
 * The JSONata expression of the `Plan` state: aligns `from` down and `to` up to whole windows and
 * counts the chunks. Exported so tests evaluate exactly what the state machine runs.
 */
export function planExpression(windowMs: number, chunkMs: number): string {
  return [
    '{% (',
    `$w := ${windowMs}; $c := ${chunkMs};`,
    '$start := $floor($toMillis($states.input.from) / $w) * $w;',
    '$end := $ceil($toMillis($states.input.to) / $w) * $w;',
    "{ 'from': $fromMillis($start), 'to': $fromMillis($end), 'startMs': $start, 'endMs': $end,",
    "'chunks': $end > $start ? $ceil(($end - $start) / $c) : 0 }",
    ') %}',
  ].join(' ');
}

/** The JSONata expression of the Map's items: one `{ from, to }` per chunk, the last one clipped. */
export function chunkItemsExpression(chunkMs: number): string {
  return [
    '{% (',
    `$c := ${chunkMs}; $s := $states.input.startMs; $e := $states.input.endMs;`,
    "$map($range(0, $states.input.chunks - 1, 1), function($i) { { 'from': $fromMillis($s + $i * $c),",
    "'to': $fromMillis($min([$s + ($i + 1) * $c, $e])) } })",
    ') %}',
  ].join(' ');
}

/** ISO 8601 date or time, as the input must give `from` and `to`. */
const ISO_INPUT =
  "$type($states.input.from) = 'string' and $type($states.input.to) = 'string' and " +
  '$contains($states.input.from, /^\\d{4}-\\d{2}-\\d{2}(T[0-9:.]+(Z|[+-]\\d{2}:\\d{2}))?$/) and ' +
  '$contains($states.input.to, /^\\d{4}-\\d{2}-\\d{2}(T[0-9:.]+(Z|[+-]\\d{2}:\\d{2}))?$/)';

export class Backfill extends Construct {
  readonly worker: PipelineFunction;
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;
  /** `TRACELAKE_XRAY_MAX_RPS` of each worker. */
  readonly workerXrayRps: number;

  constructor(scope: Construct, id: string, props: BackfillProps) {
    super(scope, id);
    const maxChunks = props.maxChunks ?? 2000;
    this.workerXrayRps = Math.floor((props.xrayMaxRps / props.concurrency) * 1000) / 1000;

    this.worker = new PipelineFunction(this, 'Worker', {
      entry: 'functions/window-worker/handler.ts',
      description: 'tracelake window worker: processes one range of windows for a backfill',
      environment: {
        ...props.environment,
        TRACELAKE_XRAY_MAX_RPS: String(this.workerXrayRps),
        TRACELAKE_XRAY_CONCURRENCY: String(
          Math.max(1, Math.floor(props.xrayConcurrency / props.concurrency)),
        ),
      },
      logRetention: props.logRetention,
      memorySize: props.memorySize,
      // A hard bound that also holds when several backfills run at once.
      reservedConcurrentExecutions: props.concurrency,
    });

    const badInput = new sfn.Fail(this, 'BadInput', {
      error: 'Tracelake.BadInput',
      cause:
        'Start the backfill with {"from": "<ISO 8601>", "to": "<ISO 8601>"}, e.g. {"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"}.',
    });
    const emptyRange = new sfn.Fail(this, 'EmptyRange', {
      error: 'Tracelake.EmptyRange',
      cause: '"to" must be after "from".',
    });
    const tooLarge = new sfn.Fail(this, 'RangeTooLarge', {
      error: 'Tracelake.RangeTooLarge',
      cause: `The range needs more than ${maxChunks} chunks of ${props.chunkMs / 60_000} minutes: split it into several executions, or deploy with a larger backfillChunk.`,
    });

    const plan = sfn.Pass.jsonata(this, 'Plan', {
      comment: 'Align the range to whole windows and count the chunks',
      outputs: planExpression(props.windowMs, props.chunkMs),
    });

    const processChunk = tasks.LambdaInvoke.jsonata(this, 'ProcessChunk', {
      lambdaFunction: this.worker.function,
      payload: sfn.TaskInput.fromObject({ from: '{% $states.input.from %}', to: '{% $states.input.to %}' }),
      // Keep only counts: the Map's collected results must stay under the payload limit.
      outputs:
        "{% { 'from': $states.input.from, 'windows': $count($states.result.Payload.windows), 'traces': $sum($states.result.Payload.windows.traces), 'findings': $sum($states.result.Payload.windows.findings) } %}",
    });
    // The worker's reserved concurrency throttles surplus invocations; wait and try again.
    processChunk.addRetry({
      errors: ['Lambda.TooManyRequestsException'],
      interval: Duration.seconds(10),
      maxAttempts: 8,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });

    const windows = sfn.DistributedMap.jsonata(this, 'Chunks', {
      comment: 'Process the chunks, at most `concurrency` at a time',
      items: sfn.ProvideItems.jsonata(chunkItemsExpression(props.chunkMs)),
      maxConcurrency: props.concurrency,
      toleratedFailurePercentage: 0,
      mapExecutionType: sfn.StateMachineType.STANDARD,
      outputs:
        "{% { 'chunks': $count($states.result), 'windows': $sum($states.result.windows), 'traces': $sum($states.result.traces), 'findings': $sum($states.result.findings) } %}",
    });
    windows.itemProcessor(processChunk);

    const checkSize = sfn.Choice.jsonata(this, 'CheckSize')
      .when(sfn.Condition.jsonata('{% $states.input.chunks < 1 %}'), emptyRange)
      .when(sfn.Condition.jsonata(`{% $states.input.chunks > ${maxChunks} %}`), tooLarge)
      .otherwise(windows);

    const definition = sfn.Choice.jsonata(this, 'CheckInput')
      .when(sfn.Condition.jsonata(`{% ${ISO_INPUT} %}`), plan.next(checkSize))
      .otherwise(badInput);

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'tracelake backfill: input {"from": "<ISO>", "to": "<ISO>"}',
      queryLanguage: sfn.QueryLanguage.JSONATA,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: Duration.days(7),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });

    const workerId = Stack.of(this).getLogicalId(this.worker.function.node.defaultChild as CfnElement);
    Validations.of(this.stateMachine).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${workerId}.Arn>:*]`,
      reason: 'lambda:InvokeFunction on the window worker and its qualified versions only.',
    });
    // The Distributed Map runs its items as child executions of this state machine.
    const machineId = Stack.of(this).getLogicalId(this.stateMachine.node.defaultChild as CfnElement);
    const executions = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${machineId}"}]}]}`;
    for (const resource of [`${executions}:*`, `${executions}/*:*`]) {
      Validations.of(this.stateMachine).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${resource}]`,
        reason:
          "The Distributed Map starts, describes and stops child executions of this state machine's own executions only.",
      });
    }
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions log delivery (logs:CreateLogDelivery and related) and X-Ray tracing support no resource-level permissions.',
    });
  }
}
