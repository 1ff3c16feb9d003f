import { describe, expect, it } from 'vitest';
import { attributeFindings, KeyGraph } from '../../lib/core/attribution.js';
import type { RegressionRow } from '../../lib/core/model.js';

const W = Date.UTC(2026, 2, 2, 10, 0);

function finding(
  key: string,
  baseline: number,
  current: number,
  extra: Partial<RegressionRow> = {},
): RegressionRow {
  return {
    window_start: W,
    key,
    service: key.split(' ')[0]!,
    name: key,
    kind: 'step',
    statistic: 'p50',
    baseline_ms: baseline,
    current_ms: current,
    ratio: current / baseline,
    p_value: 1e-6,
    severity: 'high',
    since: W,
    exemplar_trace_ids: [],
    baseline_exemplar_trace_ids: [],
    new_version: null,
    summary: '',
    ...extra,
  };
}

/** api [Stage] → api > Invoke → fn [Function] → fn > Invocation → fn > DynamoDB Query → DynamoDB [Table] (inferred). */
function shopGraph(): KeyGraph {
  const g = new KeyGraph();
  g.addEdge('api [AWS::ApiGateway::Stage]', 'api > Lambda Invoke fn');
  g.addEdge('api > Lambda Invoke fn', 'fn [AWS::Lambda]');
  g.addEdge('fn [AWS::Lambda]', 'fn [AWS::Lambda::Function]');
  g.addEdge('fn [AWS::Lambda::Function]', 'fn > Invocation');
  g.addEdge('fn > Invocation', 'fn > DynamoDB Query orders');
  g.addEdge('fn > Invocation', 'fn > DynamoDB GetItem orders');
  g.addEdge('fn > DynamoDB Query orders', 'DynamoDB [AWS::DynamoDB::Table]');
  g.addEdge('fn > DynamoDB GetItem orders', 'DynamoDB [AWS::DynamoDB::Table]');
  g.markInferred('DynamoDB [AWS::DynamoDB::Table]');
  return g;
}

describe('KeyGraph', () => {
  it('finds every descendant, however deep, and survives cycles', () => {
    const g = shopGraph();
    expect([...g.descendants('fn > Invocation')].sort()).toEqual([
      'DynamoDB [AWS::DynamoDB::Table]',
      'fn > DynamoDB GetItem orders',
      'fn > DynamoDB Query orders',
    ]);
    expect(g.descendants('api [AWS::ApiGateway::Stage]').size).toBe(7);
    g.addEdge('fn > DynamoDB Query orders', 'fn > Invocation');
    expect(g.descendants('fn > Invocation').has('fn > Invocation')).toBe(false);
    g.addEdge('x', 'x');
    expect(g.descendants('x').size).toBe(0);
  });
});

describe('attributeFindings', () => {
  it('names the slow call as the cause of every caller waiting for it', () => {
    const out = attributeFindings(
      [
        finding('api [AWS::ApiGateway::Stage]', 21, 30),
        finding('fn [AWS::Lambda::Function]', 17, 26),
        finding('fn > Invocation', 15, 23),
        finding('fn > DynamoDB Query orders', 7, 18),
        finding('DynamoDB [AWS::DynamoDB::Table]', 6, 13),
      ],
      shopGraph(),
    );
    expect(out.map((f) => [f.key, f.explained_by])).toEqual([
      ['api [AWS::ApiGateway::Stage]', 'fn > DynamoDB Query orders'],
      ['fn [AWS::Lambda::Function]', 'fn > DynamoDB Query orders'],
      ['fn > Invocation', 'fn > DynamoDB Query orders'],
      ['fn > DynamoDB Query orders', null],
      ['DynamoDB [AWS::DynamoDB::Table]', 'fn > DynamoDB Query orders'],
    ]);
  });

  it('keeps a caller as a root cause when its own increase is far larger than the callee’s', () => {
    // The function got 40 ms slower in its own code; the query only 2 ms.
    const out = attributeFindings(
      [finding('fn > Invocation', 15, 55), finding('fn > DynamoDB Query orders', 7, 9)],
      shopGraph(),
    );
    expect(out.map((f) => f.explained_by)).toEqual([null, null]);
  });

  it('only relates findings of the same window and statistic', () => {
    const out = attributeFindings(
      [
        finding('fn > Invocation', 15, 23),
        finding('fn > DynamoDB Query orders', 7, 18, { statistic: 'p99' }),
        finding('fn > DynamoDB Query orders', 7, 18, { window_start: W + 300_000 }),
      ],
      shopGraph(),
    );
    expect(out.map((f) => f.explained_by)).toEqual([null, null, null]);
  });

  it('does not let a sibling explain a key: only calls below it can', () => {
    const out = attributeFindings(
      [finding('fn > DynamoDB GetItem orders', 5, 9), finding('fn > DynamoDB Query orders', 7, 18)],
      shopGraph(),
    );
    expect(out.map((f) => f.explained_by)).toEqual([null, null]);
  });

  it('never lets an inferred segment explain its caller', () => {
    const out = attributeFindings(
      [finding('fn > DynamoDB Query orders', 7, 18), finding('DynamoDB [AWS::DynamoDB::Table]', 6, 30)],
      shopGraph(),
    );
    expect(out[0]!.explained_by).toBeNull();
    expect(out[1]!.explained_by).toBe('fn > DynamoDB Query orders');
  });

  it('explains an inferred segment by a caller finding of another statistic in the same window', () => {
    const out = attributeFindings(
      [
        finding('fn > DynamoDB Query orders', 7, 18, { statistic: 'p50' }),
        finding('DynamoDB [AWS::DynamoDB::Table]', 15, 20, { statistic: 'p90' }),
        finding('DynamoDB [AWS::DynamoDB::Table]', 15, 20, { statistic: 'p90', window_start: W + 300_000 }),
      ],
      shopGraph(),
    );
    expect(out.map((f) => f.explained_by)).toEqual([null, 'fn > DynamoDB Query orders', null]);
  });

  it('leaves findings unchanged otherwise, in the same order, without touching the input', () => {
    const input = [finding('a', 1, 2), finding('b', 1, 3)];
    const out = attributeFindings(input, new KeyGraph());
    expect(out.map((f) => [f.key, f.explained_by])).toEqual([
      ['a', null],
      ['b', null],
    ]);
    expect(input[0]!.explained_by).toBeUndefined();
  });
});
