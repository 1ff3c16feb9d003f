/**
 * Saved queries: the Athena named queries of `infra/queries/*.sql` (the same files the local
 * `tracelake query` runs over a local lake with DuckDB) and CloudWatch Logs Insights query
 * definitions that go from a finding or a failed run to its log lines and X-Ray trace IDs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ConfigError } from '../../lib/core/errors.js';
import { REPO_ROOT } from './pipeline-function.js';

/** Where the named queries live. */
export const QUERIES_DIR = path.join(REPO_ROOT, 'infra', 'queries');

export interface NamedQueryFile {
  /** The file name without `.sql`, e.g. `slowest-subsegments-24h`. */
  readonly name: string;
  /** The leading `--` comment lines, joined. */
  readonly description: string;
  readonly sql: string;
}

/**
 * Reads every `*.sql` file of `dir`, sorted by name. Each must start with a `--` comment saying
 * what it answers (that becomes the Athena description).
 *
 * @example loadNamedQueries()[0]?.name === 'error-fault-rates'
 * @throws ConfigError when a file has no leading comment or no statement.
 */
export function loadNamedQueries(dir: string = QUERIES_DIR): NamedQueryFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((file) => {
      const sql = readFileSync(path.join(dir, file), 'utf8').trim();
      const lines = sql.split('\n');
      const comment: string[] = [];
      for (const line of lines) {
        if (!line.startsWith('--')) break;
        comment.push(line.replace(/^--\s?/, '').trim());
      }
      const description = comment.join(' ').trim();
      if (description === '')
        throw new ConfigError(`${file}: start the query with a -- comment saying what it answers`);
      if (lines.length <= comment.length) throw new ConfigError(`${file}: no SQL after the comment`);
      return { name: file.slice(0, -'.sql'.length), description: description.slice(0, 1024), sql };
    });
}

/** The Logs Insights queries, shared by the saved definitions and the dashboard. */
export const LOG_QUERIES = {
  /** Every regression finding with its numbers and the slow traces that show it. */
  findings: {
    fields: ['@timestamp', 'severity', 'key', 'statistic', 'baseline_ms', 'current_ms', 'ratio', 'summary'],
    parseStatements: ['@message /"xray_trace_ids":\\[(?<trace_ids>[^\\]]*)\\]/'],
    filterStatements: ['message = "regression"'],
    sort: '@timestamp desc',
    limit: 100,
  },
  windowSummaries: {
    fields: ['@timestamp', 'window_start', 'traces', 'spans', 'keys'],
    parseStatements: ['@message /"xray_trace_ids":\\[(?<trace_ids>[^\\]]*)\\]/'],
    filterStatements: ['message = "window summary"'],
    sort: '@timestamp desc',
    limit: 100,
  },
  rejectedDocuments: {
    fields: ['@timestamp', 'source', 'line', 'pointer', 'reason'],
    filterStatements: ['message = "document rejected"'],
    sort: '@timestamp desc',
    limit: 200,
  },
  errors: {
    fields: ['@timestamp', '@logStream', 'level', 'message', 'error.name', 'error.message'],
    filterStatements: ['level = "ERROR" or @message like /Task timed out|Runtime\\.\\w+/'],
    sort: '@timestamp desc',
    limit: 100,
  },
} satisfies Record<string, logs.QueryStringProps>;

export interface SavedQueriesProps {
  readonly databaseName: string;
  readonly workGroup: athena.CfnWorkGroup;
  /** Log groups of the pipeline functions. */
  readonly logGroups: readonly logs.ILogGroup[];
  /** @default 'tracelake' */
  readonly namePrefix?: string;
}

export class SavedQueries extends Construct {
  readonly namedQueries: readonly athena.CfnNamedQuery[];
  readonly logQueries: readonly logs.QueryDefinition[];

  constructor(scope: Construct, id: string, props: SavedQueriesProps) {
    super(scope, id);
    const prefix = props.namePrefix ?? 'tracelake';
    this.namedQueries = loadNamedQueries().map((q) => {
      const named = new athena.CfnNamedQuery(this, `Query-${q.name}`, {
        name: `${prefix}: ${q.name}`,
        description: q.description,
        database: props.databaseName,
        workGroup: props.workGroup.ref,
        queryString: q.sql,
      });
      named.addResourceDependency(props.workGroup);
      return named;
    });
    const titles: Record<keyof typeof LOG_QUERIES, string> = {
      findings: 'regressions with X-Ray trace IDs',
      windowSummaries: 'window summaries',
      rejectedDocuments: 'rejected documents',
      errors: 'errors and timeouts',
    };
    this.logQueries = (Object.keys(LOG_QUERIES) as (keyof typeof LOG_QUERIES)[]).map(
      (key) =>
        new logs.QueryDefinition(this, `LogQuery-${key}`, {
          queryDefinitionName: `${prefix}/${titles[key]}`,
          queryString: new logs.QueryString(LOG_QUERIES[key]),
          logGroups: [...props.logGroups],
        }),
    );
  }
}
