/**
 * A tracelake Lambda function: one handler of `functions/`, bundled with the locally installed
 * esbuild (no Docker) as an ES module for Node 22 on ARM64, with parquet-wasm's `.wasm` file
 * copied beside the bundle, its own log group with a retention, active X-Ray tracing, and a role
 * that starts with nothing but writing to that log group.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The repository root: entries, the lock file and node_modules are resolved from here. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The wasm file's name in the bundle, and where Lambda puts the bundle. */
export const PARQUET_WASM_FILE = 'parquet_wasm_bg.wasm';
export const PARQUET_WASM_LAMBDA_PATH = `/var/task/${PARQUET_WASM_FILE}`;

/** parquet-wasm's wasm, relative to the repository root (it is the same file in its node and esm builds). */
function parquetWasmSource(): string {
  const resolved = createRequire(path.join(REPO_ROOT, 'package.json')).resolve(
    `parquet-wasm/node/${PARQUET_WASM_FILE}`,
  );
  return path.relative(REPO_ROOT, resolved);
}

export interface PipelineFunctionProps {
  /** Handler file relative to the repository root, e.g. `functions/collector/handler.ts`. */
  readonly entry: string;
  readonly description: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
  /** @default Duration.minutes(15) */
  readonly timeout?: Duration;
  /** @default 1024 */
  readonly memorySize?: number;
  /** @default - unreserved */
  readonly reservedConcurrentExecutions?: number;
}

export class PipelineFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description}: log group, X-Ray, lake prefix and metrics only`,
    });
    // Instead of AWSLambdaBasicExecutionRole, which may write to any log group.
    this.logGroup.grantWrite(this.role);

    const wasm = parquetWasmSource();
    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, props.entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.minutes(15),
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        ...props.environment,
        TRACELAKE_PARQUET_WASM: PARQUET_WASM_LAMBDA_PATH,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // Bundle the pinned AWS SDK too, so Lambda runs the client versions the tests ran.
        externalModules: [],
        // Some CommonJS dependencies call require() at run time; an ES module has none of its own.
        banner:
          "import { createRequire as __tracelakeRequire } from 'node:module'; const require = __tracelakeRequire(import.meta.url);",
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => [
            `cp "${path.join(inputDir, wasm)}" "${path.join(outputDir, PARQUET_WASM_FILE)}"`,
          ],
        },
      },
    });

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x, the runtime the handlers are built and tested for; moving is a deliberate upgrade.',
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray (tracing: PutTraceSegments, PutTelemetryRecords; reading: GetTraceSummaries, BatchGetTraces) and cloudwatch:PutMetricData support no resource-level permissions; PutMetricData is limited by a namespace condition.',
    });
  }

  /** Lets the function read traces: the two X-Ray read actions the source uses, nothing else. */
  grantXrayRead(): void {
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'XRayRead',
        actions: ['xray:GetTraceSummaries', 'xray:BatchGetTraces'],
        resources: ['*'],
      }),
    );
  }

  /** Lets the function publish metrics to `namespace` only, and tells it the namespace. */
  grantPutMetricData(namespace: string): void {
    this.function.addEnvironment('TRACELAKE_METRICS_NAMESPACE', namespace);
    this.function.addEnvironment('POWERTOOLS_METRICS_NAMESPACE', namespace);
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PutMetricDataInNamespace',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': namespace } },
      }),
    );
  }
}
