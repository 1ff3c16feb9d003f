/**
 * CloudWatch Transaction Search spans into the lake: a subscription filter on the `aws/spans` log
 * group sends every span event to an Amazon Data Firehose stream, which decompresses the CloudWatch
 * Logs batches, keeps only the messages (one span event per line) and delivers GZIP objects under
 * the lake bucket's raw prefix, `<rawPrefix>YYYY/MM/DD/HH/` in UTC. The collector reads a window's
 * objects from there (`lib/adapters/raw-spans-source.ts`). Why this mechanism: docs/otel-mapping.md.
 */
import { Annotations, type CfnElement, Duration, Size, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as destinations from 'aws-cdk-lib/aws-logs-destinations';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface SpansDeliveryProps {
  /** The lake bucket. */
  readonly bucket: s3.IBucket;
  /**
   * Key prefix Firehose writes under, ending in `/`, e.g. `tracelake/_raw/aws-spans/`. Keep it
   * out of the table folders. Failed records go to the sibling `<rawPrefix without />-errors/`.
   */
  readonly rawPrefix: string;
  /** @default 'aws/spans' (the log group Transaction Search writes) */
  readonly logGroupName?: string;
  /**
   * Firehose buffering interval. Keep it well under `TRACELAKE_LAG`, or a window is processed
   * before its last objects are written. @default Duration.seconds(60)
   */
  readonly bufferingInterval?: Duration;
  /** @default Size.mebibytes(32) */
  readonly bufferingSize?: Size;
  /**
   * Raw objects are only needed until their windows are processed (and for backfills); expired
   * after this long when the bucket is managed by this app. @default Duration.days(30)
   */
  readonly rawExpiration?: Duration;
}

/** Subscription filter on `aws/spans` → Firehose → GZIP objects under the lake's raw prefix. */
export class SpansDelivery extends Construct {
  readonly deliveryStream: firehose.DeliveryStream;
  readonly subscriptionFilter: logs.SubscriptionFilter;
  /** Where span events land, ending in `/`. */
  readonly rawPrefix: string;
  /** Where Firehose puts records it could not process, ending in `/`. */
  readonly errorPrefix: string;
  private readonly bucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: SpansDeliveryProps) {
    super(scope, id);
    if (!/^[^/].*\/$/.test(props.rawPrefix) || props.rawPrefix.includes('!{')) {
      throw new Error(
        `SpansDelivery rawPrefix must be a key prefix ending in "/" without a leading "/" or Firehose expressions, got "${props.rawPrefix}"`,
      );
    }
    this.bucket = props.bucket;
    this.rawPrefix = props.rawPrefix;
    this.errorPrefix = `${props.rawPrefix.slice(0, -1)}-errors/`;

    const destination = new firehose.S3Bucket(props.bucket, {
      // Spelled out (Firehose's default layout) because an error prefix with expressions needs one.
      dataOutputPrefix: `${this.rawPrefix}!{timestamp:yyyy/MM/dd/HH}/`,
      errorOutputPrefix: `${this.errorPrefix}!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/`,
      compression: firehose.Compression.GZIP,
      bufferingInterval: props.bufferingInterval ?? Duration.seconds(60),
      bufferingSize: props.bufferingSize ?? Size.mebibytes(32),
      processors: [
        // CloudWatch Logs sends gzip batches of envelopes; keep only the span events, one per line.
        new firehose.DecompressionProcessor(),
        new firehose.CloudWatchLogProcessor({ dataMessageExtraction: true }),
        new firehose.AppendDelimiterToRecordProcessor(),
      ],
    });
    this.deliveryStream = new firehose.DeliveryStream(this, 'Stream', {
      destination,
      encryption: firehose.StreamEncryption.awsOwnedKey(),
    });

    const logGroupName = props.logGroupName ?? 'aws/spans';
    const logGroup = logs.LogGroup.fromLogGroupName(this, 'SpansLogGroup', logGroupName);
    this.subscriptionFilter = new logs.SubscriptionFilter(this, 'Subscription', {
      logGroup,
      destination: new destinations.FirehoseDestination(this.deliveryStream),
      filterPattern: logs.FilterPattern.allEvents(),
    });
    Annotations.of(this).addInfo(
      `Subscribes to the log group ${logGroupName}: turn on CloudWatch Transaction Search first, so the group exists.`,
    );

    if (props.bucket instanceof s3.Bucket) {
      props.bucket.addLifecycleRule({
        id: 'expire-raw-spans',
        prefix: this.rawPrefix,
        expiration: props.rawExpiration ?? Duration.days(30),
      });
    }

    // CDK's S3 destination grants the Firehose role read/write on the bucket's objects (data and
    // error prefixes alike); it acts only as the stream is configured.
    const bucketArn = this.bucketArnForNag();
    const firehoseFindings = [
      'Action::s3:GetObject*',
      'Action::s3:GetBucket*',
      'Action::s3:List*',
      'Action::s3:DeleteObject*',
      'Action::s3:Abort*',
      `Resource::${bucketArn}/*`,
    ];
    for (const role of this.deliveryStream.node
      .findAll()
      .filter((c): c is iam.Role => c instanceof iam.Role)) {
      for (const finding of firehoseFindings) {
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[${finding}]`,
          reason:
            'Firehose S3 destination grant made by CDK: the delivery role writes batches under the raw and error prefixes of the lake bucket.',
        });
      }
    }
  }

  /**
   * Lets a pipeline function read the raw spans and tells it where they are
   * (`TRACELAKE_SPANS_RAW_PREFIX`), in one step.
   */
  bindPipeline(fn: lambda.Function): void {
    fn.addEnvironment('TRACELAKE_SPANS_RAW_PREFIX', this.rawPrefix);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RawSpansObjects',
        actions: ['s3:GetObject'],
        resources: [this.bucket.arnForObjects(`${this.rawPrefix}*`)],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RawSpansListing',
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${this.rawPrefix}*`] } },
      }),
    );
    if (fn.role) {
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${this.bucketArnForNag()}/${this.rawPrefix}*]`,
        reason: 'Reads objects under the raw spans prefix only; their names are chosen by Firehose.',
      });
    }
  }

  /** The bucket ARN as cdk-nag prints it in a finding. */
  private bucketArnForNag(): string {
    const cfn = this.bucket.node.defaultChild;
    if (cfn) return `<${Stack.of(this).getLogicalId(cfn as CfnElement)}.Arn>`;
    return `arn:<AWS::Partition>:s3:::${this.bucket.bucketName}`;
  }
}
