import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { SpansDelivery } from '../../infra/constructs/spans-delivery.js';

/** A stack with a lake bucket, the construct, and a function bound to it. */
function build(props: { logGroupName?: string; imported?: boolean; bufferingInterval?: Duration } = {}) {
  const app = new App();
  const stack = new Stack(app, 'Spans', { env: { account: '123456789012', region: 'us-east-1' } });
  const bucket = props.imported
    ? s3.Bucket.fromBucketName(stack, 'Lake', 'existing-lake')
    : new s3.Bucket(stack, 'Lake', {
        enforceSSL: true,
        encryption: s3.BucketEncryption.S3_MANAGED,
        serverAccessLogsPrefix: 'access/',
      });
  const delivery = new SpansDelivery(stack, 'Spans', {
    bucket,
    rawPrefix: 'tracelake/_raw/aws-spans/',
    ...(props.logGroupName ? { logGroupName: props.logGroupName } : {}),
    ...(props.bufferingInterval ? { bufferingInterval: props.bufferingInterval } : {}),
  });
  const fn = new lambda.Function(stack, 'Collector', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {}'),
  });
  delivery.bindPipeline(fn);
  return { app, stack, delivery, template: Template.fromStack(stack) };
}

describe('SpansDelivery', () => {
  const { app, template } = build();

  it('subscribes to every event of aws/spans, into the Firehose stream', () => {
    template.resourceCountIs('AWS::Logs::SubscriptionFilter', 1);
    template.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
      LogGroupName: 'aws/spans',
      FilterPattern: '',
      DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SpansStream'), 'Arn'] },
      RoleArn: Match.anyValue(),
    });
    // CloudWatch Logs assumes a role that may only put records into this stream.
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'logs.amazonaws.com' } })],
      },
    });
  });

  it('delivers decompressed, extracted, newline-delimited span events as GZIP under the raw prefix', () => {
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
      ExtendedS3DestinationConfiguration: Match.objectLike({
        Prefix: 'tracelake/_raw/aws-spans/!{timestamp:yyyy/MM/dd/HH}/',
        ErrorOutputPrefix:
          'tracelake/_raw/aws-spans-errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/',
        CompressionFormat: 'GZIP',
        BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 32 },
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [
            Match.objectLike({ Type: 'Decompression' }),
            {
              Type: 'CloudWatchLogProcessing',
              Parameters: [{ ParameterName: 'DataMessageExtraction', ParameterValue: 'true' }],
            },
            Match.objectLike({ Type: 'AppendDelimiterToRecord' }),
          ],
        },
      }),
    });
  });

  it('expires raw objects in a bucket it manages', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [
          {
            Id: 'expire-raw-spans',
            Prefix: 'tracelake/_raw/aws-spans/',
            ExpirationInDays: 30,
            Status: 'Enabled',
          },
        ],
      },
    });
  });

  it('binds a pipeline function: where the raw spans are, and read access to that prefix only', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { TRACELAKE_SPANS_RAW_PREFIX: 'tracelake/_raw/aws-spans/' } },
    });
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) =>
        p.Properties.PolicyDocument.Statement as {
          Sid?: string;
          Action: unknown;
          Resource: unknown;
          Condition?: unknown;
        }[],
    );
    const read = policies.find((s) => s.Sid === 'RawSpansObjects');
    expect(read?.Action).toBe('s3:GetObject');
    expect(JSON.stringify(read?.Resource)).toContain('/tracelake/_raw/aws-spans/*');
    expect(policies.find((s) => s.Sid === 'RawSpansListing')?.Condition).toEqual({
      StringLike: { 's3:prefix': ['tracelake/_raw/aws-spans/*'] },
    });
  });

  it('passes cdk-nag AwsSolutions, with a reason on every acknowledgement', () => {
    // The stand-in collector function of this test is not the construct's to fix.
    const ours = (path: string) =>
      path.startsWith('Spans/Spans/') || path.includes('/Collector/ServiceRole/DefaultPolicy');
    const report = new AwsSolutionsChecks().validateScope(app);
    const findings = report.violations.flatMap((v) =>
      v.violatingResources
        .filter((r) => ours(r.constructPath ?? ''))
        .map((r) => `${v.ruleName} ${r.constructPath}`),
    );
    expect(findings).toEqual([]);
    for (const c of app.node.findAll()) {
      for (const m of c.node.metadata) {
        if (m.type !== 'aws:cdk:acknowledged-rules') continue;
        for (const reason of Object.values(m.data as Record<string, string>))
          expect(reason.length).toBeGreaterThan(30);
      }
    }
  });

  it('matches the snapshot', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });
});

describe('SpansDelivery options', () => {
  it('takes another log group and buffering interval, and leaves an imported bucket lifecycle alone', () => {
    const { template } = build({
      logGroupName: 'custom/spans',
      imported: true,
      bufferingInterval: Duration.seconds(30),
    });
    template.hasResourceProperties('AWS::Logs::SubscriptionFilter', { LogGroupName: 'custom/spans' });
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({
        BufferingHints: { IntervalInSeconds: 30, SizeInMBs: 32 },
      }),
    });
    template.resourceCountIs('AWS::S3::Bucket', 0);
  });

  it.each(['/raw/', 'raw', 'raw/!{timestamp:yyyy}/'])('refuses the raw prefix %j', (rawPrefix) => {
    const stack = new Stack(new App(), 'S');
    const bucket = s3.Bucket.fromBucketName(stack, 'B', 'lake-bucket');
    expect(() => new SpansDelivery(stack, 'D', { bucket, rawPrefix })).toThrow(
      /rawPrefix must be a key prefix ending in "\/"/,
    );
  });
});
