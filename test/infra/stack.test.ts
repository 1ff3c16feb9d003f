import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNamedQueries } from '../../infra/constructs/saved-queries.js';
import { loadConfig } from '../../lib/config.js';
import { glueType, TABLES } from '../../lib/core/tables.js';
import { normalizedTemplate, ofType, render, resources, synthesize } from './synth.js';

// One synthesis (bundling skipped, cdk-nag on) shared by every test of this file.
const synth = synthesize();
const { template, json } = synth;
afterAll(() => synth.cleanup());

const LAKE_BUCKET = ofType(json, 'AWS::S3::Bucket').find(([id]) => id.startsWith('LakeBucket'))![0];
const COLLECTOR = ofType(json, 'AWS::Lambda::Function').find(([id]) => id.startsWith('Collector'))!;
const WORKER = ofType(json, 'AWS::Lambda::Function').find(([id]) => id.startsWith('BackfillWorker'))!;

interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  Sid?: string;
}

/** Every policy statement of the template: IAM policies, role inline policies, resource and key policies. */
function allStatements(): { where: string; statement: Statement }[] {
  const out: { where: string; statement: Statement }[] = [];
  const docs: [string, unknown][] = [];
  for (const [id, r] of resources(json)) {
    const p = r.Properties ?? {};
    if ('PolicyDocument' in p) docs.push([id, p.PolicyDocument]);
    if ('KeyPolicy' in p) docs.push([id, p.KeyPolicy]);
    if (Array.isArray(p.Policies)) {
      for (const inline of p.Policies as { PolicyDocument: unknown }[])
        docs.push([id, inline.PolicyDocument]);
    }
  }
  for (const [where, doc] of docs) {
    for (const statement of (doc as { Statement: Statement[] }).Statement) out.push({ where, statement });
  }
  return out;
}

const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

function roleStatements(fnResource: [string, { Properties?: Record<string, unknown> }]): Statement[] {
  const roleId = (fnResource[1].Properties!.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
  return ofType(json, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties!.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => (p.Properties!.PolicyDocument as { Statement: Statement[] }).Statement);
}

describe('1. lake bucket', () => {
  it('is encrypted, TLS-only, private and logs access to its own log bucket', () => {
    const bucket = template.findResources('AWS::S3::Bucket')[LAKE_BUCKET]!;
    expect(bucket.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.LoggingConfiguration.DestinationBucketName.Ref).toMatch(/^LakeAccessLogs/);
    expect(bucket.DeletionPolicy).toBe('Retain');
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: LAKE_BUCKET },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('moves spans to Standard-IA after 30 days and expires rejected documents; nothing else expires by default', () => {
    const rules =
      template.findResources('AWS::S3::Bucket')[LAKE_BUCKET]!.Properties.LifecycleConfiguration.Rules;
    expect(rules).toContainEqual(
      expect.objectContaining({
        Id: 'spans-to-infrequent-access',
        Prefix: 'tracelake/spans/',
        Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
        Status: 'Enabled',
      }),
    );
    expect(rules).toContainEqual(
      expect.objectContaining({ Prefix: 'tracelake/_rejected/', ExpirationInDays: 30, Status: 'Enabled' }),
    );
    const spansRule = rules.find((r: { Id: string }) => r.Id === 'spans-to-infrequent-access');
    expect(spansRule.ExpirationInDays).toBeUndefined();
    expect(rules.map((r: { Id: string }) => r.Id)).not.toContain('expire-subsegment_stats');
  });
});

describe('2. Glue database and tables', () => {
  const tables = ofType(json, 'AWS::Glue::Table').map(
    ([, t]) => t.Properties!.TableInput as Record<string, unknown>,
  );

  it('has one table per lake table, with the columns of lib/core/tables.ts in order and Glue types', () => {
    template.resourceCountIs('AWS::Glue::Database', 1);
    expect(tables.map((t) => t.Name).sort()).toEqual(TABLES.map((t) => t.name).sort());
    for (const def of TABLES) {
      const table = tables.find((t) => t.Name === def.name)!;
      const sd = table.StorageDescriptor as {
        Columns: { Name: string; Type: string }[];
        InputFormat: string;
      };
      expect(sd.Columns.map((c) => [c.Name, c.Type])).toEqual(
        def.columns.map((c) => [c.name, glueType(c.type)]),
      );
      expect(sd.InputFormat).toBe('org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat');
      expect((table.PartitionKeys as { Name: string; Type: string }[]).map((k) => [k.Name, k.Type])).toEqual(
        def.partitionKeys.map((k) => [k, 'string']),
      );
    }
  });

  it('projects dt (date) and hour (00-23) partitions onto the lake layout, so no crawler is needed', () => {
    template.resourceCountIs('AWS::Glue::Crawler', 0);
    const spans = tables.find((t) => t.Name === 'spans')!;
    const params = spans.Parameters as Record<string, unknown>;
    expect(params).toMatchObject({
      'projection.enabled': 'true',
      'projection.dt.type': 'date',
      'projection.dt.format': 'yyyy-MM-dd',
      'projection.hour.type': 'integer',
      'projection.hour.range': '0,23',
      'projection.hour.digits': '2',
    });
    expect(render(params['storage.location.template'])).toBe(
      `s3://<Ref:${LAKE_BUCKET}>/tracelake/spans/dt=\${dt}/hour=\${hour}`,
    );
    const regressions = tables.find((t) => t.Name === 'regressions')!.Parameters as Record<string, unknown>;
    expect(render(regressions['storage.location.template'])).toBe(
      `s3://<Ref:${LAKE_BUCKET}>/tracelake/regressions/dt=\${dt}`,
    );
    expect(regressions['projection.hour.type']).toBeUndefined();
  });
});

describe('3. Athena', () => {
  it('has a workgroup with encrypted results, a bytes-scanned cutoff and enforced settings', () => {
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'tracelake',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: 10_240 * 1024 * 1024,
        ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } },
      },
    });
  });

  it('saves every infra/queries/*.sql file as a named query against the tracelake database', () => {
    const files = loadNamedQueries();
    expect(files.map((f) => f.name)).toEqual([
      'error-fault-rates',
      'p99-trend-of-key',
      'regressions-with-traces',
      'slowest-subsegments-24h',
      'slowest-traces-for-subsegment',
    ]);
    const named = ofType(json, 'AWS::Athena::NamedQuery').map(([, q]) => q.Properties!);
    expect(named).toHaveLength(files.length);
    for (const f of files) {
      const q = named.find((n) => n.Name === `tracelake: ${f.name}`)!;
      expect(q.QueryString).toBe(f.sql);
      expect(q.Database).toBe('tracelake');
      expect(q.Description).toBe(f.description);
    }
  });
});

describe('4. functions', () => {
  it('run on nodejs22.x, ARM64, with active tracing and the wasm path set', () => {
    for (const [, fn] of [COLLECTOR, WORKER]) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
      });
      const env = (fn.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env.TRACELAKE_PARQUET_WASM).toBe('/var/task/parquet_wasm_bg.wasm');
    }
  });

  it('give the functions an environment lib/config.ts accepts, with the settings of cdk.json', () => {
    for (const [, fn] of [COLLECTOR, WORKER]) {
      const vars = (fn.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
      const env = Object.fromEntries(
        Object.entries(vars).map(([k, v]) => [k, render(v, { [LAKE_BUCKET]: 'my-lake-bucket' })]),
      );
      const config = loadConfig(env);
      expect(config.lakeUri).toBe('s3://my-lake-bucket/tracelake');
      expect(config.windowMs).toBe(300_000);
      expect(config.lagMs).toBe(180_000);
      expect(config.metricsNamespace).toBe('Tracelake');
      expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe('Tracelake');
      expect(config.regression).toEqual({ minRatio: 1.2, minDeltaMs: 5, minSamples: 50 });
    }
  });

  it('runs the collector one at a time, every window, with failures kept in a queue', () => {
    expect(COLLECTOR[1].Properties!.ReservedConcurrentExecutions).toBe(1);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [COLLECTOR[0], 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CollectorDeadLetters'), 'Arn'] } },
      },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: COLLECTOR[0] },
      MaximumRetryAttempts: 0,
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CollectorDeadLetters'), 'Arn'] },
        },
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  it('keeps each function log in its own group with a retention', () => {
    for (const [, fn] of [COLLECTOR, WORKER]) {
      const group = (fn.Properties!.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(template.findResources('AWS::Logs::LogGroup')[group]!.Properties.RetentionInDays).toBe(30);
    }
  });
});

describe('5. backfill', () => {
  it('is a Distributed Map over window chunks, bounded by MaxConcurrency and the worker reserved concurrency', () => {
    const [, machine] = ofType(json, 'AWS::StepFunctions::StateMachine')[0]!;
    const definition = JSON.parse(render(machine.Properties!.DefinitionString)) as {
      QueryLanguage: string;
      StartAt: string;
      States: Record<string, Record<string, unknown>>;
    };
    expect(definition.QueryLanguage).toBe('JSONata');
    const map = definition.States.Chunks!;
    expect(map.Type).toBe('Map');
    expect(map.MaxConcurrency).toBe(2);
    // No tolerated failures: one failed chunk fails the backfill, naming the chunk.
    expect(map.ToleratedFailurePercentage ?? 0).toBe(0);
    expect(map.ToleratedFailureCount ?? 0).toBe(0);
    expect(map.ItemProcessor).toMatchObject({
      ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
    });
    const task = (map.ItemProcessor as { States: Record<string, Record<string, unknown>> }).States
      .ProcessChunk!;
    expect(task.Resource).toBe('arn:<Ref:AWS::Partition>:states:::lambda:invoke');
    expect((task.Arguments as { FunctionName: string }).FunctionName).toBe(`<${WORKER[0]}.Arn>`);
    expect(WORKER[1].Properties!.ReservedConcurrentExecutions).toBe(2);
    expect(machine.Properties).toMatchObject({
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL' },
    });
  });

  it('shares the X-Ray request budget between the workers', () => {
    const vars = (WORKER[1].Properties!.Environment as { Variables: Record<string, string> }).Variables;
    expect(Number(vars.TRACELAKE_XRAY_MAX_RPS) * 2).toBeLessThanOrEqual(4);
    expect(Number(vars.TRACELAKE_XRAY_CONCURRENCY) * 2).toBeLessThanOrEqual(4);
    const collectorVars = (COLLECTOR[1].Properties!.Environment as { Variables: Record<string, string> })
      .Variables;
    expect(collectorVars.TRACELAKE_XRAY_MAX_RPS).toBe('4');
  });
});

describe('6. CloudWatch', () => {
  const [, dashboard] = ofType(json, 'AWS::CloudWatch::Dashboard')[0]!;
  const widgets = (
    JSON.parse(render(dashboard.Properties!.DashboardBody)) as {
      widgets: { type: string; properties: { title?: string; metrics?: unknown[][]; query?: string } }[];
    }
  ).widgets;
  const expressions = widgets.flatMap((w) =>
    (w.properties.metrics ?? []).flatMap((m) =>
      m.flatMap((part) => (part as { expression?: string }).expression ?? []),
    ),
  );
  const metricNames = widgets.flatMap((w) => (w.properties.metrics ?? []).map((m) => m[1]));

  it('has a dashboard with top subsegments, regression ratios, pipeline health and findings with trace IDs', () => {
    expect(expressions).toContain(
      'SELECT MAX(Latency) FROM SCHEMA("Tracelake", Service, Subsegment) GROUP BY Service, Subsegment ORDER BY MAX() DESC LIMIT 10',
    );
    expect(expressions).toContain(
      `SORT(SEARCH('{"Tracelake",Service,Subsegment} MetricName="Latency"', 'p99', 300), MAX, DESC, 10)`,
    );
    expect(expressions).toContain(
      'SELECT MAX(RegressionRatio) FROM SCHEMA("Tracelake", Service, Subsegment) GROUP BY Service, Subsegment ORDER BY MAX() DESC LIMIT 10',
    );
    for (const metric of ['TracesProcessed', 'DocumentsRejected', 'LagSeconds', 'DegradingSubsegments']) {
      expect(
        expressions.some((e) => e.includes(`(${metric}) FROM "Tracelake"`)),
        metric,
      ).toBe(true);
    }
    expect(metricNames).toEqual(
      expect.arrayContaining(['Errors', 'ApproximateNumberOfMessagesVisible', 'ExecutionsFailed']),
    );
    const log = widgets.find((w) => w.type === 'log')!;
    expect(log.properties.query).toContain('filter message = "regression"');
    expect(log.properties.query).toContain('xray_trace_ids');
    expect(log.properties.query).toMatch(
      /^SOURCE '<Ref:CollectorFunctionLogs\w+>' \| SOURCE '<Ref:BackfillWorkerLogs\w+>'/,
    );
  });

  it('alarms on any degrading subsegment with one Metrics Insights query', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [
        Match.objectLike({
          Expression: 'SELECT MAX(RegressionRatio) FROM SCHEMA("Tracelake", Service, Subsegment)',
        }),
      ],
      Threshold: 1.2,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('alarms when the pipeline fails or falls behind, all to the encrypted topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: COLLECTOR[0] } }],
      EvaluationPeriods: 2,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [Match.objectLike({ Expression: 'SELECT MAX(LagSeconds) FROM "Tracelake"' })],
      Threshold: 180 + 4 * 300,
      TreatMissingData: 'breaching',
    });
    const topic = ofType(json, 'AWS::SNS::Topic')[0]!;
    expect(render(topic[1].Properties!.KmsMasterKeyId)).toMatch(/^<MonitoringTopicKey\w+\.Arn>$/);
    const alarms = ofType(json, 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBe(5);
    for (const [, alarm] of alarms) expect(alarm.Properties!.AlarmActions).toEqual([{ Ref: topic[0] }]);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('saves Logs Insights queries over both function log groups', () => {
    const defs = ofType(json, 'AWS::Logs::QueryDefinition').map(([, d]) => d.Properties!);
    expect(defs.map((d) => d.Name).sort()).toEqual([
      'tracelake/errors and timeouts',
      'tracelake/regressions with X-Ray trace IDs',
      'tracelake/rejected documents',
      'tracelake/window summaries',
    ]);
    const findings = defs.find((d) => d.Name === 'tracelake/regressions with X-Ray trace IDs')!;
    expect(findings.QueryString).toContain('filter message = "regression"');
    expect(findings.QueryString).toContain('xray_trace_ids');
    expect(findings.LogGroupNames).toHaveLength(2);
  });
});

describe('7. least privilege', () => {
  it('allows no wildcard action anywhere; the only wildcard denies are the TLS-only guards', () => {
    const statements = allStatements();
    expect(statements.length).toBeGreaterThan(10);
    for (const { where, statement } of statements) {
      const wild = actionsOf(statement).filter((a) => a.includes('*'));
      if (statement.Effect === 'Allow') expect(wild, `${where} ${statement.Sid ?? ''}`).toEqual([]);
      else if (wild.length) {
        expect([
          JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
          JSON.stringify({ NumericLessThan: { 's3:TlsVersion': 1.2 } }),
        ]).toContain(JSON.stringify(statement.Condition));
      }
    }
  });

  it('gives the pipeline X-Ray reads only, PutMetricData in its namespace only, S3 under the lake prefix only', () => {
    for (const fn of [COLLECTOR, WORKER]) {
      const statements = roleStatements(fn);
      const actions = statements.flatMap(actionsOf);
      expect(actions.filter((a) => a.startsWith('xray:')).sort()).toEqual([
        'xray:BatchGetTraces',
        'xray:GetTraceSummaries',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ]);
      const metrics = statements.find((s) => actionsOf(s).includes('cloudwatch:PutMetricData'))!;
      expect(metrics.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'Tracelake' } });
      const s3 = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
      expect(s3).toHaveLength(2);
      const objects = s3.find((s) => actionsOf(s).includes('s3:PutObject'))!;
      expect(render(objects.Resource)).toBe(`<${LAKE_BUCKET}.Arn>/tracelake/*`);
      const listing = s3.find((s) => actionsOf(s).includes('s3:ListBucket'))!;
      expect(listing.Condition).toEqual({ StringLike: { 's3:prefix': ['tracelake', 'tracelake/*'] } });
      const logsStatement = statements.find((s) => actionsOf(s).includes('logs:PutLogEvents'))!;
      const group = (fn[1].Properties!.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(render(logsStatement.Resource)).toBe(`<${group}.Arn>`);
    }
  });

  it('attaches no AWS managed policy to the functions', () => {
    for (const [, role] of ofType(json, 'AWS::IAM::Role'))
      expect(role.Properties!.ManagedPolicyArns).toBeUndefined();
  });
});

describe('8. cdk-nag', () => {
  it('reports no unacknowledged AwsSolutions finding', () => {
    const report = new AwsSolutionsChecks().validateScope(synth.app);
    expect(report.violations).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('leaves no CDK warning or error annotation on the stack', () => {
    const annotations = Annotations.fromStack(synth.stack);
    expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
  });

  it('gives every acknowledgement a written reason', () => {
    const acks: [string, string][] = [];
    for (const c of synth.app.node.findAll()) {
      for (const m of c.node.metadata) {
        if (m.type === 'aws:cdk:acknowledged-rules') {
          for (const [id, reason] of Object.entries(m.data as Record<string, string>))
            acks.push([id, reason]);
        }
      }
    }
    expect(acks.length).toBeGreaterThan(5);
    for (const [id, reason] of acks) {
      expect(id).toMatch(/AwsSolutions-/);
      expect(reason.length, id).toBeGreaterThan(30);
    }
  });
});

describe('template', () => {
  it('matches the snapshot (asset hashes normalised)', () => {
    expect(normalizedTemplate(json)).toMatchSnapshot();
  });
});
