import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { pipelineEnvironment, readSettings } from '../../infra/settings.js';
import { retentionDays } from '../../infra/stacks/tracelake-stack.js';
import { loadConfig } from '../../lib/config.js';
import { ConfigError } from '../../lib/core/errors.js';
import { ofType, render, synthesize } from './synth.js';

const from = (ctx: Record<string, unknown>) => (key: string) => ctx[key];

describe('readSettings', () => {
  it('has the documented defaults', () => {
    const s = readSettings(from({}));
    expect(s).toMatchObject({
      lakeBucketName: undefined,
      lakePrefix: 'tracelake',
      windowMs: 300_000,
      lagMs: 180_000,
      maxWindowsPerRun: 12,
      metricsNamespace: 'Tracelake',
      metricKeyCap: 50,
      writeSpans: true,
      xrayMaxRps: 4,
      xrayConcurrency: 4,
      regressionMinRatio: 1.2,
      regressionMinDeltaMs: 5,
      regressionMinSamples: 50,
      spansTransitionDays: 30,
      spansExpirationDays: undefined,
      backfillConcurrency: 2,
      backfillChunkMs: 3_600_000,
      transactionSearch: false,
    });
  });

  it('takes -c strings and cdk.json values alike', () => {
    const s = readSettings(
      from({
        window: '15m',
        lag: '0',
        metricKeyCap: 10,
        writeSpans: 'false',
        lakePrefix: '/lake/x/',
        spansExpirationDays: '400',
      }),
    );
    expect(s).toMatchObject({
      windowMs: 900_000,
      lagMs: 0,
      metricKeyCap: 10,
      writeSpans: false,
      lakePrefix: 'lake/x',
    });
    expect(s.spansExpirationDays).toBe(400);
  });

  it.each([
    ['window', '7m', /divide a day/],
    ['window', '30s', /whole minutes/],
    ['backfillChunk', '7m', /whole number of windows/],
    ['lakePrefix', 'a b', /lakePrefix/],
    ['lakeBucketName', 'Not_A_Bucket', /lakeBucketName/],
    ['alarmEmail', 'nobody', /alarmEmail/],
    ['regressionMinRatio', '1', /above 1/],
    ['metricKeyCap', '-1', /metricKeyCap/],
    ['writeSpans', 'maybe', /writeSpans/],
    ['spansTransitionDays', '10', /spansTransitionDays/],
    ['metricsNamespace', 'a"b', /metricsNamespace/],
  ])('rejects %s=%s naming the key', (key, value, message) => {
    expect(() => readSettings(from({ [key]: value }))).toThrow(ConfigError);
    expect(() => readSettings(from({ [key]: value }))).toThrow(message);
  });

  it('rejects spans expiring before they move to infrequent access', () => {
    expect(() => readSettings(from({ spansExpirationDays: 20 }))).toThrow(/after spansTransitionDays/);
  });

  it('turns into an environment lib/config.ts reads back to the same values', () => {
    const s = readSettings(
      from({ window: '10m', lag: '90s', regressionMinDeltaMs: '0', xrayGroup: 'checkout' }),
    );
    const config = loadConfig({ ...pipelineEnvironment(s), TRACELAKE_LAKE_URI: 's3://my-lake/p' });
    expect(config).toMatchObject({ windowMs: 600_000, lagMs: 90_000, xrayGroup: 'checkout' });
    expect(config.regression.minDeltaMs).toBe(0);
  });

  it('rounds log retention up to one CloudWatch allows', () => {
    expect(retentionDays(30)).toBe(30);
    expect(retentionDays(31)).toBe(60);
    expect(retentionDays(4000)).toBe(3653);
  });
});

describe('deployment variants', () => {
  it('an existing bucket and prefix: no lake bucket created, access limited to that prefix, nag clean', () => {
    const synth = synthesize({
      lakeBucketName: 'corp-data-lake',
      lakePrefix: 'traces/prod',
      alarmEmail: 'ops@example.com',
    });
    try {
      const buckets = ofType(synth.json, 'AWS::S3::Bucket').map(([id]) => id);
      expect(buckets.some((id) => id.startsWith('LakeBucket'))).toBe(false);
      expect(buckets).toHaveLength(2); // access logs and Athena results
      const policies = ofType(synth.json, 'AWS::IAM::Policy').flatMap(
        ([, p]) =>
          (p.Properties!.PolicyDocument as { Statement: { Sid?: string; Resource: unknown }[] }).Statement,
      );
      const objects = policies.filter((s) => s.Sid === 'LakeObjects').map((s) => render(s.Resource));
      expect(objects).toEqual([
        'arn:<Ref:AWS::Partition>:s3:::corp-data-lake/traces/prod/*',
        'arn:<Ref:AWS::Partition>:s3:::corp-data-lake/traces/prod/*',
      ]);
      const spans = ofType(synth.json, 'AWS::Glue::Table')
        .map(([, t]) => t.Properties!.TableInput as { Name: string; Parameters: Record<string, unknown> })
        .find((t) => t.Name === 'spans')!;
      expect(render(spans.Parameters['storage.location.template'])).toBe(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's placeholders, meant literally
        's3://corp-data-lake/traces/prod/spans/dt=${dt}/hour=${hour}',
      );
      synth.template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'ops@example.com',
      });
      expect(new AwsSolutionsChecks().validateScope(synth.app).violations).toEqual([]);
    } finally {
      synth.cleanup();
    }
  });

  it('expiry and window settings reach the lifecycle rules, the schedule and the alarms', () => {
    const synth = synthesize(
      { window: '15m', lag: '5m', lakeExpirationDays: 365, spansExpirationDays: 90 },
      { nag: false },
    );
    try {
      const [, lake] = ofType(synth.json, 'AWS::S3::Bucket').find(([id]) => id.startsWith('LakeBucket'))!;
      const rules = (lake.Properties!.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
      expect(rules).toContainEqual(
        expect.objectContaining({ Prefix: 'tracelake/spans/', ExpirationInDays: 90 }),
      );
      for (const table of ['subsegment_stats', 'traces', 'regressions']) {
        expect(rules).toContainEqual(
          expect.objectContaining({ Prefix: `tracelake/${table}/`, ExpirationInDays: 365 }),
        );
      }
      synth.template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'rate(15 minutes)',
      });
      synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Threshold: 300 + 4 * 900,
        Metrics: [Match.objectLike({ Expression: 'SELECT MAX(LagSeconds) FROM "Tracelake"', Period: 900 })],
      });
    } finally {
      synth.cleanup();
    }
  });

  it('transactionSearch: aws/spans flows through Firehose into the raw prefix the functions read, nag clean', () => {
    const synth = synthesize({ transactionSearch: 'true' });
    try {
      synth.template.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 1);
      synth.template.hasResourceProperties('AWS::Logs::SubscriptionFilter', { LogGroupName: 'aws/spans' });
      const functions = ofType(synth.json, 'AWS::Lambda::Function')
        .map(
          ([, f]) =>
            (f.Properties!.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables,
        )
        .filter((v) => v?.TRACELAKE_LAKE_URI !== undefined);
      expect(functions).toHaveLength(2);
      for (const vars of functions)
        expect(vars!.TRACELAKE_SPANS_RAW_PREFIX).toBe('tracelake/_raw/aws-spans/');
      expect(new AwsSolutionsChecks().validateScope(synth.app).violations).toEqual([]);
    } finally {
      synth.cleanup();
    }
  });

  it('without transactionSearch there is no Firehose and no raw prefix', () => {
    const synth = synthesize({}, { nag: false });
    try {
      synth.template.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 0);
      expect(JSON.stringify(synth.json)).not.toContain('TRACELAKE_SPANS_RAW_PREFIX');
    } finally {
      synth.cleanup();
    }
  });
});
