import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it, vi } from 'vitest';
import { PowertoolsLogSink, pipelineOptions } from '../../functions/shared/runtime.js';
import { loadConfig } from '../../lib/config.js';

describe('PowertoolsLogSink', () => {
  it('writes one JSON line per call with the fields at the top level', () => {
    const logger = new Logger({ serviceName: 'tracelake' });
    const lines: string[] = [];
    // Powertools prints through its own Console: INFO to stdout, WARN and ERROR to stderr.
    const capture = (chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    };
    const spies = [
      vi.spyOn(process.stdout, 'write').mockImplementation(capture),
      vi.spyOn(process.stderr, 'write').mockImplementation(capture),
    ];
    try {
      const sink = new PowertoolsLogSink(logger);
      sink.warn('regression', { key: 'orders > DynamoDB Query orders', xray_trace_ids: ['1-a-b'] });
      sink.info('window summary');
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const records = lines
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({
      level: 'WARN',
      message: 'regression',
      service: 'tracelake',
      key: 'orders > DynamoDB Query orders',
      xray_trace_ids: ['1-a-b'],
    });
    expect(records[1]).toMatchObject({ level: 'INFO', message: 'window summary' });
  });
});

describe('pipelineOptions', () => {
  it('carries the configuration into every window run', () => {
    const config = loadConfig({
      TRACELAKE_LAKE_URI: '/tmp/lake',
      TRACELAKE_WRITE_SPANS: 'false',
      TRACELAKE_METRIC_KEY_CAP: '7',
      TRACELAKE_REGRESSION_MIN_SAMPLES: '9',
    });
    expect(pipelineOptions(config)).toEqual({
      writeSpans: false,
      metricKeyCap: 7,
      regression: { minRatio: 1.2, minDeltaMs: 5, minSamples: 9 },
    });
  });
});
