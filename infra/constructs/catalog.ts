/**
 * Glue database and tables over the lake, built from `lib/core/tables.ts` (the same definitions
 * the Parquet writer uses), with partition projection on `dt`/`hour` so new partitions are
 * queryable at once without a crawler or `MSCK REPAIR TABLE`; and the Athena workgroup.
 */
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { glueType, TABLES, type TableDef, type TableName } from '../../lib/core/tables.js';
import type { Lake } from './lake.js';

export interface LakeCatalogProps {
  readonly lake: Lake;
  /** @default 'tracelake' */
  readonly databaseName?: string;
  /** @default 'tracelake' */
  readonly workGroupName?: string;
  /** Athena cancels a query of the workgroup once it has scanned this many bytes. */
  readonly bytesScannedCutoffPerQuery: number;
  /** @default 30 */
  readonly resultsExpirationDays?: number;
  /**
   * First day partition projection knows about (`yyyy-MM-dd`); queries see no data before it.
   * @default '2024-01-01'
   */
  readonly firstDay?: string;
}

const PARQUET = {
  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  serde: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
};

const PARTITION_COMMENTS: Readonly<Record<'dt' | 'hour', string>> = {
  dt: 'UTC day of the window start, yyyy-MM-dd',
  hour: 'UTC hour of the window start, 00-23',
};

/**
 * Glue table parameters for partition projection: `dt` is a date, `hour` a two-digit integer, and
 * the storage template is the lake's Hive layout, so Athena computes partition locations itself.
 *
 * @example
 * projectionParameters(SPANS, 's3://b/tl/spans', '2024-01-01')['storage.location.template']
 * // => 's3://b/tl/spans/dt=${dt}/hour=${hour}'
 */
export function projectionParameters(
  def: TableDef,
  tableRoot: string,
  firstDay: string,
): Record<string, string> {
  const params: Record<string, string> = {
    classification: 'parquet',
    'parquet.compression': 'ZSTD',
    'projection.enabled': 'true',
    'projection.dt.type': 'date',
    'projection.dt.format': 'yyyy-MM-dd',
    'projection.dt.range': `${firstDay},NOW`,
    'projection.dt.interval': '1',
    'projection.dt.interval.unit': 'DAYS',
  };
  // `${dt}` and `${hour}` are Athena's placeholders, written literally into the template.
  let template = `${tableRoot}/dt=\${dt}`;
  if (def.partitionKeys.includes('hour')) {
    params['projection.hour.type'] = 'integer';
    params['projection.hour.range'] = '0,23';
    params['projection.hour.digits'] = '2';
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's placeholder, meant literally
    template += '/hour=${hour}';
  }
  params['storage.location.template'] = template;
  return params;
}

export class LakeCatalog extends Construct {
  readonly databaseName: string;
  readonly workGroupName: string;
  readonly database: glue.CfnDatabase;
  readonly tables: ReadonlyMap<TableName, glue.CfnTable>;
  readonly workGroup: athena.CfnWorkGroup;
  readonly resultsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: LakeCatalogProps) {
    super(scope, id);
    const { lake } = props;
    this.databaseName = props.databaseName ?? 'tracelake';
    this.workGroupName = props.workGroupName ?? 'tracelake';
    const firstDay = props.firstDay ?? '2024-01-01';

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: {
        name: this.databaseName,
        description: 'tracelake: X-Ray spans, per-subsegment latency statistics, traces and regressions',
      },
    });

    const tables = new Map<TableName, glue.CfnTable>();
    for (const def of TABLES) {
      const table = new glue.CfnTable(this, `Table-${def.name}`, {
        catalogId: Aws.ACCOUNT_ID,
        databaseName: this.databaseName,
        tableInput: {
          name: def.name,
          description: def.description,
          tableType: 'EXTERNAL_TABLE',
          parameters: { EXTERNAL: 'TRUE', ...projectionParameters(def, `${lake.uri}/${def.name}`, firstDay) },
          partitionKeys: def.partitionKeys.map((k) => ({
            name: k,
            type: 'string',
            comment: PARTITION_COMMENTS[k],
          })),
          storageDescriptor: {
            location: lake.tableLocation(def.name),
            inputFormat: PARQUET.inputFormat,
            outputFormat: PARQUET.outputFormat,
            serdeInfo: { serializationLibrary: PARQUET.serde, parameters: { 'serialization.format': '1' } },
            columns: def.columns.map((c) => ({
              name: c.name,
              type: glueType(c.type),
              comment: c.description,
            })),
          },
        },
      });
      table.addResourceDependency(this.database);
      tables.set(def.name, table);
    }
    this.tables = tables;

    this.resultsBucket = new s3.Bucket(this, 'Results', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: lake.accessLogs,
      serverAccessLogsPrefix: 'athena-results/',
      lifecycleRules: [
        { id: 'expire-query-results', expiration: Duration.days(props.resultsExpirationDays ?? 30) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(2) },
      ],
      // Query results are reproducible from the lake.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: false,
    });

    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description: 'tracelake queries: encrypted results, bounded scan per query',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${this.resultsBucket.bucketName}/results/`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          expectedBucketOwner: Aws.ACCOUNT_ID,
        },
      },
    });
  }
}
