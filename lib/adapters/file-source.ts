/**
 * A trace source over local files: one file, or a folder searched recursively in sorted order.
 * `.json` files hold one JSON value; `.ndjson`/`.jsonl` files hold one per line and are streamed,
 * so a large folder is never in memory at once. Any of them may be gzipped (`.gz`).
 */
import { isAscii } from 'node:buffer';
import { createReadStream, type Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { SourceError } from '../core/errors.js';
import type { Rejection } from '../core/model.js';
import type { SourceEvent, SourceStats, TraceSource } from '../core/ports.js';
import { locateJsonError } from '../core/xray/json-error.js';

/** A whole-file `.json` larger than this is rejected instead of read (use NDJSON for more). */
export const MAX_JSON_FILE_BYTES = 256 * 1024 * 1024;
const MAX_RAW_CHARS = 64 * 1024;

type Format = 'json' | 'ndjson';

export class FileSource implements TraceSource {
  private readonly counters = {
    files: 0,
    lines: 0,
    bytes: 0,
    skippedFiles: 0,
    unreadableFiles: 0,
    parseErrors: 0,
  };

  private readonly maxJsonBytes: number;

  /** `options.maxJsonBytes` lowers the whole-file `.json` limit (tests; small Lambda memory). */
  constructor(
    private readonly root: string,
    options: { readonly maxJsonBytes?: number } = {},
  ) {
    this.maxJsonBytes = options.maxJsonBytes ?? MAX_JSON_FILE_BYTES;
  }

  describe(): string {
    return this.root;
  }

  stats(): SourceStats {
    return { ...this.counters };
  }

  /** Yields every record of every file; the time range does not apply to files and is ignored. */
  async *read(_range?: { fromMs: number; toMs: number }): AsyncIterable<SourceEvent> {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(this.root);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' ? 'it does not exist' : `it cannot be read (${code ?? (err as Error).message})`;
      throw new SourceError(`source path "${this.root}" cannot be used: ${why}`, { cause: err });
    }
    const files: string[] = [];
    const unlisted: { dir: string; why: string }[] = [];
    if (info.isDirectory()) await collect(this.root, files, unlisted);
    else files.push(this.root);
    files.sort();
    for (const { dir, why } of unlisted) yield this.unreadable(dir, why, 'folder');

    for (const file of files) {
      const format = formatOf(file);
      if (!format) {
        this.counters.skippedFiles++;
        continue;
      }
      this.counters.files++;
      if (format.kind === 'json') yield* this.readJson(file, format.gzip);
      else yield* this.readLines(file, format.gzip);
    }
  }

  private async *readJson(file: string, gzip: boolean): AsyncIterable<SourceEvent> {
    let text: string;
    try {
      const size = (await stat(file)).size;
      this.counters.bytes += size;
      if (!gzip && size > this.maxJsonBytes) {
        yield this.unreadable(file, tooBig(size, this.maxJsonBytes));
        return;
      }
      text = await readText(file, gzip, this.maxJsonBytes);
    } catch (err) {
      yield this.unreadable(file, describeError(err));
      return;
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    this.counters.lines += countLines(text);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      this.counters.parseErrors++;
      yield { type: 'rejected', rejection: parseRejection(file, undefined, text, err) };
      return;
    }
    yield { type: 'record', record: { value, location: { source: file } } };
  }

  private async *readLines(file: string, gzip: boolean): AsyncIterable<SourceEvent> {
    let stream: Readable;
    try {
      this.counters.bytes += (await stat(file)).size;
      stream = open(file, gzip);
    } catch (err) {
      yield this.unreadable(file, describeError(err));
      return;
    }
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    let lineNo = 0;
    try {
      for await (let line of lines) {
        lineNo++;
        this.counters.lines++;
        if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
        if (line.trim() === '') continue;
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch (err) {
          this.counters.parseErrors++;
          yield { type: 'rejected', rejection: parseRejection(file, lineNo, line, err) };
          continue;
        }
        yield { type: 'record', record: { value, location: { source: file, line: lineNo } } };
      }
    } catch (err) {
      const after = lineNo > 0 ? ` after line ${lineNo}` : '';
      yield this.unreadable(file, `reading stopped${after}: ${describeError(err)}`);
    } finally {
      lines.close();
      stream.destroy();
    }
  }

  private unreadable(file: string, why: string, what = 'file'): SourceEvent {
    this.counters.unreadableFiles++;
    return {
      type: 'rejected',
      rejection: { location: { source: file }, reason: `cannot read the ${what}: ${why}`, raw: '' },
    };
  }
}

async function collect(dir: string, out: string[], unlisted: { dir: string; why: string }[]): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    // A subfolder that cannot be listed is reported, and the run goes on with the rest.
    unlisted.push({ dir, why: describeError(err) });
    return;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    // Symbolic links to folders are not followed, so a link loop cannot trap the walk.
    if (entry.isDirectory()) await collect(full, out, unlisted);
    else out.push(full);
  }
}

function formatOf(file: string): { kind: Format; gzip: boolean } | null {
  let name = path.basename(file).toLowerCase();
  const gzip = name.endsWith('.gz');
  if (gzip) name = name.slice(0, -3);
  if (name.endsWith('.json')) return { kind: 'json', gzip };
  if (name.endsWith('.ndjson') || name.endsWith('.jsonl')) return { kind: 'ndjson', gzip };
  return null;
}

function open(file: string, gzip: boolean): Readable {
  const raw = createReadStream(file);
  if (!gzip) return raw;
  const gunzip = createGunzip();
  // Errors of the file stream (EACCES, EISDIR) must reach the consumer of the gunzip stream.
  raw.on('error', (err) => gunzip.destroy(err));
  return raw.pipe(gunzip);
}

/** A whole file's text: one read for a plain file, a capped stream for a gzipped one. */
async function readText(file: string, gzip: boolean, maxBytes: number): Promise<string> {
  const bytes = gzip ? await readCapped(open(file, true), maxBytes) : await readFile(file);
  // The size was checked before reading; this catches a file that grew in between.
  if (bytes.length > maxBytes) throw new Error(tooBig(bytes.length, maxBytes, true));
  // Pure ASCII (the usual API response) decodes as Latin-1, a plain copy, to the string UTF-8 gives.
  return isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
}

async function readCapped(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      total += buf.length;
      if (total > maxBytes) throw new Error(tooBig(total, maxBytes, true));
      chunks.push(buf);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks);
}

function tooBig(bytes: number, limit: number, atLeast = false): string {
  const size = (n: number) => (n >= 1024 * 1024 ? `${Math.round(n / (1024 * 1024))} MB` : `${n} bytes`);
  return `it is ${atLeast ? 'more than ' : ''}${size(atLeast ? limit : bytes)}, above the ${size(limit)} limit for a whole-file .json (split it, or write it as .ndjson)`;
}

function parseRejection(file: string, line: number | undefined, text: string, err: unknown): Rejection {
  const problem = locateJsonError(text);
  let where: string;
  let what: string;
  if (problem) {
    // Inside an NDJSON line the problem's line is always 1; the file line is what a person needs.
    where =
      line === undefined
        ? `line ${problem.line}, column ${problem.column}`
        : `line ${line}, column ${problem.column}`;
    what = problem.message;
  } else {
    where = line === undefined ? 'the file' : `line ${line}`;
    what = (err as Error).message;
  }
  const location = line === undefined ? { source: file } : { source: file, line };
  return {
    location,
    reason: `not valid JSON at ${where}: ${what}`,
    raw: text.length > MAX_RAW_CHARS ? `${text.slice(0, MAX_RAW_CHARS)}…` : text,
  };
}

function countLines(text: string): number {
  if (text.length === 0) return 0;
  let count = 1;
  // indexOf scans natively, an order of magnitude faster than charCodeAt per character on megabytes.
  for (let k = text.indexOf('\n'); k !== -1; k = text.indexOf('\n', k + 1)) count++;
  return text.endsWith('\n') ? count - 1 : count;
}

function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'it disappeared or is a broken link (ENOENT)';
  if (e?.code === 'EACCES') return 'permission denied (EACCES)';
  if (e?.code === 'Z_DATA_ERROR' || e?.code === 'Z_BUF_ERROR')
    return `it is not valid gzip data (${e.message})`;
  return e?.message ?? String(err);
}
