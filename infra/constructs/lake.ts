/**
 * The lake bucket: the Parquet tables, `_state/` and `_rejected/` under one key prefix, plus the
 * bucket that receives S3 server access logs. An existing bucket can be used instead.
 */
import { Annotations, type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { TableName } from '../../lib/core/tables.js';

export interface LakeProps {
  /**
   * Name of an existing bucket to hold the lake. Its encryption, lifecycle and logging are then
   * yours to manage; this construct only grants access to the prefix.
   * @default - a new bucket
   */
  readonly existingBucketName?: string;
  /** Key prefix of the lake, without slashes at either end, e.g. `tracelake`. */
  readonly prefix: string;
  /** @default 30 */
  readonly spansTransitionDays?: number;
  /** @default - spans are kept */
  readonly spansExpirationDays?: number;
  /** @default - stats, traces and regressions are kept */
  readonly lakeExpirationDays?: number;
  /** @default 30 */
  readonly rejectedExpirationDays?: number;
}

const OTHER_TABLES: readonly TableName[] = ['subsegment_stats', 'traces', 'regressions'];

export class Lake extends Construct {
  readonly bucket: s3.IBucket;
  /** Receives server access logs of the lake and Athena results buckets. */
  readonly accessLogs: s3.Bucket;
  readonly prefix: string;

  constructor(scope: Construct, id: string, props: LakeProps) {
    super(scope, id);
    this.prefix = props.prefix;

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED, // log delivery cannot write SSE-KMS objects
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log target; logging its own access would log forever.',
    });

    if (props.existingBucketName !== undefined) {
      this.bucket = s3.Bucket.fromBucketName(this, 'Bucket', props.existingBucketName);
      Annotations.of(this).addInfo(
        `Lake in the existing bucket ${props.existingBucketName}: encryption, lifecycle and access logging are not managed by this stack.`,
      );
      return;
    }

    const spans = `${this.prefix}/spans/`;
    const lifecycleRules: s3.LifecycleRule[] = [
      {
        id: 'spans-to-infrequent-access',
        prefix: spans,
        transitions: [
          {
            storageClass: s3.StorageClass.INFREQUENT_ACCESS,
            transitionAfter: Duration.days(props.spansTransitionDays ?? 30),
          },
        ],
        ...(props.spansExpirationDays !== undefined && {
          expiration: Duration.days(props.spansExpirationDays),
        }),
      },
      {
        id: 'expire-rejected-documents',
        prefix: `${this.prefix}/_rejected/`,
        expiration: Duration.days(props.rejectedExpirationDays ?? 30),
      },
      { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(2) },
    ];
    if (props.lakeExpirationDays !== undefined) {
      for (const table of OTHER_TABLES) {
        lifecycleRules.push({
          id: `expire-${table}`,
          prefix: `${this.prefix}/${table}/`,
          expiration: Duration.days(props.lakeExpirationDays),
        });
      }
    }

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'lake/',
      lifecycleRules,
      // The lake is the product's data: deleting the stack must not delete it.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** `s3://bucket/prefix`, the value of `TRACELAKE_LAKE_URI`. */
  get uri(): string {
    return `s3://${this.bucket.bucketName}/${this.prefix}`;
  }

  /** The folder of one table, e.g. `s3://bucket/tracelake/spans/`. */
  tableLocation(table: TableName): string {
    return `${this.uri}/${table}/`;
  }

  /** ARN pattern of every object under the lake prefix. */
  get objectsArn(): string {
    return this.bucket.arnForObjects(`${this.prefix}/*`);
  }

  /**
   * Lets a pipeline function read, write and delete objects under the lake prefix (nothing else in
   * the bucket) and points it at the lake with `TRACELAKE_LAKE_URI`.
   */
  bindPipeline(fn: lambda.Function): void {
    fn.addEnvironment('TRACELAKE_LAKE_URI', this.uri);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'LakeObjects',
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        resources: [this.objectsArn],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'LakeListing',
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [this.prefix, `${this.prefix}/*`] } },
      }),
    );
    if (fn.role) {
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${this.objectsArnForNag()}]`,
        reason:
          'Objects under the lake prefix only: the pipeline writes one object per table, window and part.',
      });
    }
  }

  /** The objects ARN as cdk-nag prints it in a finding. */
  private objectsArnForNag(): string {
    const cfn = this.bucket.node.defaultChild;
    if (cfn) return `<${Stack.of(this).getLogicalId(cfn as CfnElement)}.Arn>/${this.prefix}/*`;
    return `arn:<AWS::Partition>:s3:::${this.bucket.bucketName}/${this.prefix}/*`;
  }
}
