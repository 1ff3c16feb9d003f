/**
 * The `tracelake` command line. Each command parses its flags, builds the adapters and calls the
 * same pipeline the Lambda handlers call. Errors the user can fix print as one line.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ConfigError, TracelakeError } from '../core/errors.js';
import { demoCommand } from './demo.js';
import { queryCommand } from './query.js';
import { reportCommand } from './report.js';
import { backfillCommand, runCommand } from './run.js';

export interface CommandContext {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: Record<string, string | undefined>;
  readonly cwd: string;
}

type Command = {
  readonly summary: string;
  readonly usage: string;
  readonly run: (args: string[], ctx: CommandContext) => Promise<number>;
};

const COMMANDS: Record<string, Command> = {
  demo: {
    summary: 'generate a few hours of a small serverless shop, run the pipeline, print what it found',
    usage: demoCommand.usage,
    run: demoCommand.run,
  },
  run: {
    summary: 'run the pipeline: --source <path|xray> --lake <dir|s3://bucket/prefix>',
    usage: runCommand.usage,
    run: runCommand.run,
  },
  backfill: {
    summary: 'process every window of a past range from the X-Ray API: --from --to --lake',
    usage: backfillCommand.usage,
    run: backfillCommand.run,
  },
  query: {
    summary:
      'SQL over a local lake with the Athena table names: "<SQL>" [--lake <dir>] [--format table|csv|json]',
    usage: queryCommand.usage,
    run: queryCommand.run,
  },
  report: {
    summary: 'one self-contained HTML page with charts: --lake <dir|s3://…> [--from --to] --out report.html',
    usage: reportCommand.usage,
    run: reportCommand.run,
  },
};

function mainHelp(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length));
  return [
    'tracelake — per-subsegment latency percentiles, regressions and a Parquet lake from AWS X-Ray traces',
    '',
    'Usage: tracelake <command> [options]',
    '',
    'Commands:',
    ...names.map((n) => `  ${n.padEnd(width)}  ${COMMANDS[n]!.summary}`),
    '',
    'Run `tracelake <command> --help` for the options of a command.',
  ].join('\n');
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    ctx.stdout.write(`${mainHelp()}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    ctx.stdout.write('tracelake 0.1.0\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    ctx.stderr.write(`tracelake: unknown command "${name}". Commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    ctx.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, ctx);
  } catch (err) {
    if (err instanceof ConfigError) {
      ctx.stderr.write(`tracelake ${name}: ${err.message}\nRun \`tracelake ${name} --help\` for usage.\n`);
      return 2;
    }
    if (err instanceof TracelakeError) {
      ctx.stderr.write(`tracelake ${name}: ${err.message}\n`);
      return 1;
    }
    if (isParseArgsError(err)) {
      ctx.stderr.write(
        `tracelake ${name}: ${(err as Error).message}\nRun \`tracelake ${name} --help\` for usage.\n`,
      );
      return 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    ctx.stderr.write(`tracelake ${name}: unexpected error: ${message}\n`);
    if (ctx.env.TRACELAKE_DEBUG) ctx.stderr.write(`${err instanceof Error ? err.stack : ''}\n`);
    else ctx.stderr.write('Set TRACELAKE_DEBUG=1 to see the stack trace.\n');
    return 1;
  }
}

function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/** parseArgs with strict checking; shared by the commands. */
export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  return parseArgs({ args, options, strict: true as const, allowPositionals: true as const });
}
