import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LogSink } from '../core/ports.js';

/**
 * Structured log lines (one JSON object per line: `level`, `message`, `timestamp`, fields) to a
 * file or a stream. The same shape Powertools Logger writes in Lambda, so one Logs Insights query
 * works on both.
 */
export class JsonLinesLog implements LogSink {
  private readonly write: (line: string) => void;

  constructor(target: string | NodeJS.WritableStream) {
    if (typeof target === 'string') {
      mkdirSync(dirname(target), { recursive: true });
      this.write = (line) => appendFileSync(target, line);
    } else {
      this.write = (line) => {
        target.write(line);
      };
    }
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.emit('INFO', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.emit('WARN', message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.emit('ERROR', message, fields);
  }

  private emit(level: string, message: string, fields?: Record<string, unknown>): void {
    this.write(
      `${JSON.stringify({ level, message, timestamp: new Date().toISOString(), service: 'tracelake', ...fields })}\n`,
    );
  }
}
