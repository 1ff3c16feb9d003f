import { describe, expect, it } from 'vitest';
import { makeStyle } from '../../lib/cli/format.js';
import { displayCell, formatResult, jsonCell, textCell } from '../../lib/query/format.js';
import type { QueryResult } from '../../lib/query/lake-db.js';

const result: QueryResult = {
  columns: [
    { name: 'key', type: 'VARCHAR' },
    { name: 'n', type: 'BIGINT' },
    { name: 'p99', type: 'DOUBLE' },
    { name: 'since', type: 'TIMESTAMP' },
    { name: 'ids', type: 'VARCHAR[]' },
    { name: 'note', type: 'VARCHAR' },
  ],
  rows: [
    [
      'orders > DynamoDB Query orders',
      12,
      81.123456,
      new Date(Date.UTC(2026, 2, 2, 10, 15)),
      ['1-a', '1-b'],
      null,
    ],
    ['say "hi", then\nleave', 9007199254740993n, 0.000012345, new Date(Date.UTC(2026, 2, 2, 9)), [], 'x'],
  ],
};

describe('formatResult', () => {
  it('json: an array of objects with ISO times, exact numbers and big integers as strings', () => {
    expect(JSON.parse(formatResult(result, 'json'))).toEqual([
      {
        key: 'orders > DynamoDB Query orders',
        n: 12,
        p99: 81.123456,
        since: '2026-03-02T10:15:00.000Z',
        ids: ['1-a', '1-b'],
        note: null,
      },
      {
        key: 'say "hi", then\nleave',
        n: '9007199254740993',
        p99: 0.000012345,
        since: '2026-03-02T09:00:00.000Z',
        ids: [],
        note: 'x',
      },
    ]);
  });

  it('csv: a header, quoted fields where needed, lists as JSON, NULL empty', () => {
    expect(formatResult(result, 'csv').split('\n')).toEqual([
      'key,n,p99,since,ids,note',
      'orders > DynamoDB Query orders,12,81.123456,2026-03-02 10:15:00.000,"[""1-a"",""1-b""]",',
      '"say ""hi"", then',
      'leave",9007199254740993,0.000012345,2026-03-02 09:00:00.000,[],x',
      '',
    ]);
  });

  it('table: aligned columns, numbers right-aligned, a row count, no colour codes off a TTY', () => {
    const out = formatResult(result, 'table', makeStyle(false));
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^key\s+n\s+p99\s+since\s+ids\s+note$/);
    expect(lines[1]).toContain('81.1235');
    expect(lines[1]).toContain('[1-a, 1-b]');
    expect(lines[2]).toContain('say "hi", then leave');
    expect(lines[2]).toContain('0.0000123');
    expect(lines.at(-1)).toBe('(2 rows)');
    // Every data row is as wide as the header's columns: the `since` column starts at one offset.
    const at = lines[0]!.indexOf('since');
    expect(lines[1]!.slice(at, at + 23)).toBe('2026-03-02 10:15:00.000');
    expect(lines[2]!.slice(at, at + 23)).toBe('2026-03-02 09:00:00.000');
    expect(out).not.toContain('\u001b[');
    expect(formatResult(result, 'table', makeStyle(true))).toContain('\u001b[1m');
  });
});

describe('cells', () => {
  it('render maps, blobs and long values', () => {
    expect(displayCell({ a: '1', b: null })).toBe('{a=1, b=NULL}');
    expect(displayCell(new Uint8Array(5))).toBe('<5 bytes>');
    expect(displayCell('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(jsonCell(new Uint8Array([1, 2, 3]))).toBe('AQID');
    expect(textCell({ k: 'v' })).toBe('{"k":"v"}');
    expect(jsonCell(Number.NaN)).toBe('NaN');
  });
});
