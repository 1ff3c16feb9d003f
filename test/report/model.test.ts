import { describe, expect, it } from 'vitest';
import {
  buildReportModel,
  groupFindings,
  rootCauseOf,
  rootCauses,
  serviceTimes,
} from '../../lib/report/model.js';
import {
  CALLER_KEY,
  consequenceRows,
  findingRows,
  KEYS,
  reportInput,
  SLOW_KEY,
  statsRows,
  T0,
  W,
} from './rows.js';

describe('groupFindings', () => {
  it('keeps one row per key, kind and statistic: onset from the first window, strongest ratio, smallest p', () => {
    // Prepare
    const rows = findingRows(24, 16);
    const p90 = rows
      .slice(0, 2)
      .map((r) => ({ ...r, statistic: 'p90' as const, ratio: 1.5, severity: 'medium' as const }));
    // Act
    const groups = groupFindings([...rows].reverse().concat(p90));
    // Assess
    expect(groups.map((g) => [g.key, g.statistic])).toEqual([
      [SLOW_KEY, 'p99'],
      [SLOW_KEY, 'p90'],
    ]);
    const g = groups[0]!;
    expect(g.windows).toBe(rows.length);
    expect(g.firstWindow).toBe(T0 + 18 * W);
    expect(g.lastWindow).toBe(T0 + 23 * W);
    expect(g.since).toBe(T0 + 16 * W + 60_000);
    expect(g.ratio).toBeCloseTo(Math.max(...rows.map((r) => r.ratio)), 12);
    expect(g.pValue).toBe(Math.min(...rows.map((r) => r.p_value)));
    expect(g.severity).toBe('critical');
    // Exemplars of the strongest (last) window.
    expect(g.exemplarTraceIds[0]).toBe(`1-69c55d10-${'23'.padStart(24, '0')}`);
  });

  it('is empty for no findings', () => {
    expect(groupFindings([])).toEqual([]);
  });

  it('gives each group the root cause of its key', () => {
    const groups = groupFindings([...findingRows(), ...consequenceRows()]);
    expect(groups.map((g) => [g.key, g.explainedBy])).toEqual([
      [CALLER_KEY, SLOW_KEY],
      [SLOW_KEY, null],
    ]);
  });
});

describe('rootCauseOf', () => {
  const [root] = findingRows();
  const row = (key: string, explained_by: string | null | undefined, window = 0) => ({
    ...root!,
    key,
    explained_by,
    window_start: T0 + window * W,
  });

  it('names the root most findings of a key name', () => {
    const roots = rootCauseOf([
      row('a', 'x', 0),
      row('a', 'y', 1),
      row('a', 'y', 2),
      row('b', 'x'),
      row('x', null),
      row('y', null),
    ]);
    expect([...roots]).toEqual([
      ['a', 'y'],
      ['b', 'x'],
      ['x', null],
      ['y', null],
    ]);
  });

  it('keeps a key with any unexplained finding as a root cause; a missing column reads as one', () => {
    const roots = rootCauseOf([row('a', 'x', 0), row('a', null, 1), row('b', undefined), row('c', 'c')]);
    expect([...roots]).toEqual([
      ['a', null],
      ['b', null],
      ['c', null],
    ]);
  });
});

describe('rootCauses', () => {
  it('groups consequences under their root cause, whatever their severity', () => {
    const causes = rootCauses(groupFindings([...findingRows(), ...consequenceRows()]));
    expect(causes.length).toBe(1);
    expect(causes[0]!.key).toBe(SLOW_KEY);
    expect(causes[0]!.findings.map((f) => [f.key, f.statistic])).toEqual([[SLOW_KEY, 'p99']]);
    expect(causes[0]!.consequences.map((f) => [f.key, f.statistic])).toEqual([[CALLER_KEY, 'p50']]);
  });

  it('lists a root without findings of its own in the range after the others', () => {
    const other = findingRows().map((r) => ({ ...r, key: 'payments > stripe.example.com' }));
    const causes = rootCauses(groupFindings([...consequenceRows(), ...other]));
    expect(causes.map((c) => [c.key, c.findings.length, c.consequences.length])).toEqual([
      ['payments > stripe.example.com', 1, 0],
      [SLOW_KEY, 0, 1],
    ]);
  });
});

describe('buildReportModel', () => {
  it('charts the degraded key first, then the busiest subsegments, each with at least two windows', () => {
    const model = buildReportModel(reportInput());
    expect(model.charts[0]!.key).toBe(SLOW_KEY);
    expect(model.charts[0]!.reasons).toContain('degraded');
    expect(model.charts[0]!.findings.length).toBe(1);
    const busiest = model.charts.filter((c) => c.reasons.includes('busiest')).map((c) => c.key);
    // Subsegments only, by count: the slow key (600/window) is also the busiest.
    expect(busiest).toEqual([SLOW_KEY, 'orders-api > S3 GetObject assets', 'payments > stripe.example.com']);
    for (const c of model.charts) expect(c.points.length).toBeGreaterThanOrEqual(2);
    expect(model.windowMs).toBe(W);
    expect(model.extent).toEqual([T0, T0 + 24 * W]);
    expect(model.totals).toEqual({
      windows: 24,
      keys: KEYS.length,
      segmentSpans: 24 * (600 + 120),
      findings: 6,
      rootCauses: 1,
      keysWithFindings: 1,
    });
  });

  it('puts root causes before the findings and charts they explain', () => {
    const model = buildReportModel(reportInput({ findings: [...consequenceRows(), ...findingRows()] }));
    expect(model.findings.map((f) => [f.key, f.explainedBy])).toEqual([
      [SLOW_KEY, null],
      [CALLER_KEY, SLOW_KEY],
    ]);
    const degraded = model.charts.filter((c) => c.reasons.includes('degraded'));
    expect(degraded.map((c) => [c.key, c.explainedBy, c.explains])).toEqual([
      [SLOW_KEY, null, 1],
      [CALLER_KEY, SLOW_KEY, 0],
    ]);
    expect(model.totals.rootCauses).toBe(1);
    expect(model.totals.keysWithFindings).toBe(2);
    expect(model.totals.findings).toBe(12);
  });

  it('finds a degraded key without findings from its own percentiles', () => {
    const model = buildReportModel(reportInput({ findings: [] }));
    const c = model.charts.find((x) => x.key === SLOW_KEY)!;
    expect(c.reasons).toContain('degraded');
    expect(c.degradation).toBeGreaterThan(2.5);
    expect(c.findings).toEqual([]);
    // Steady keys are not called degraded.
    expect(model.charts.filter((x) => x.reasons.includes('degraded')).map((x) => x.key)).toEqual([SLOW_KEY]);
  });

  it('leaves out keys seen in one window only', () => {
    const stats = statsRows(1);
    const model = buildReportModel(reportInput({ stats, findings: [] }));
    expect(model.charts).toEqual([]);
    expect(model.totals.windows).toBe(1);
  });

  it('computes error, fault and throttle rates from the segments, per window and per key', () => {
    const model = buildReportModel(reportInput());
    expect(model.ratesOverTime.length).toBe(24);
    const p = model.ratesOverTime[0]!;
    // orders-api: 600 with 12 faults and 3 errors; payments: 120 with 3 errors.
    expect(p.requests).toBe(720);
    expect(p.faultRate).toBeCloseTo(12 / 720, 12);
    expect(p.errorRate).toBeCloseTo(6 / 720, 12);
    expect(model.rates[0]).toEqual({
      key: 'orders-api [segment]',
      kind: 'segment',
      requests: 24 * 600,
      errors: 24 * 3,
      faults: 24 * 12,
      throttles: 0,
    });
    expect(model.rates.map((r) => r.key)).not.toContain(SLOW_KEY);
  });

  it('handles an empty lake', () => {
    const model = buildReportModel(
      reportInput({ stats: [], findings: [], selfTime: { source: 'stats', rows: [] } }),
    );
    expect(model.extent).toBeNull();
    expect(model.charts).toEqual([]);
    expect(model.services).toEqual([]);
  });
});

describe('serviceTimes', () => {
  it('sorts services and parts by time and sums the tail into one part', () => {
    const rows = ['a', 'b', 'c', 'd'].map((label, i) => ({
      service: 's',
      label,
      totalMs: (i + 1) * 10,
      count: 1,
    }));
    rows.push({ service: 't', label: 'x', totalMs: 500, count: 2 });
    const out = serviceTimes(rows, 2);
    expect(out.map((s) => [s.service, s.totalMs])).toEqual([
      ['t', 500],
      ['s', 100],
    ]);
    expect(out[1]!.parts.map((p) => [p.label, p.totalMs])).toEqual([
      ['d', 40],
      ['c', 30],
      ['other (2)', 30],
    ]);
  });
});
