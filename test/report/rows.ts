/**
 * Synthetic report rows: a few keys over a range of 5-minute windows, one of them three times
 * slower from a given window on, with a finding for it (and, if asked, findings on its caller that
 * it explains).
 */
import type { ReportFindingRow, ReportInput, ReportStatsRow } from '../../lib/report/model.js';

export const T0 = Date.UTC(2026, 2, 2, 9, 0);
export const W = 300_000;
export const SLOW_KEY = 'orders-api > DynamoDB Query orders';

interface KeySpec {
  readonly key: string;
  readonly service: string;
  readonly name: string;
  readonly kind: 'segment' | 'subsegment';
  readonly count: number;
  readonly p50: number;
  readonly faultEvery?: number;
}

export const KEYS: readonly KeySpec[] = [
  {
    key: 'orders-api [segment]',
    service: 'orders-api',
    name: 'orders-api',
    kind: 'segment',
    count: 600,
    p50: 40,
    faultEvery: 50,
  },
  { key: SLOW_KEY, service: 'orders-api', name: 'DynamoDB', kind: 'subsegment', count: 600, p50: 8 },
  {
    key: 'orders-api > S3 GetObject assets',
    service: 'orders-api',
    name: 'S3',
    kind: 'subsegment',
    count: 300,
    p50: 15,
  },
  { key: 'payments [segment]', service: 'payments', name: 'payments', kind: 'segment', count: 120, p50: 120 },
  {
    key: 'payments > stripe.example.com',
    service: 'payments',
    name: 'stripe.example.com',
    kind: 'subsegment',
    count: 120,
    p50: 100,
  },
];

/** `windows` windows from T0; the slow key is ×`factor` from window `slowFrom` on. */
export function statsRows(windows = 24, slowFrom = 16, factor = 3): ReportStatsRow[] {
  const rows: ReportStatsRow[] = [];
  for (let i = 0; i < windows; i++) {
    for (const k of KEYS) {
      const f = k.key === SLOW_KEY && i >= slowFrom ? factor : 1;
      // A small deterministic wobble so lines are not flat.
      const wobble = 1 + 0.05 * Math.sin(i + k.count);
      const p50 = k.p50 * f * wobble;
      rows.push({
        window_start: T0 + i * W,
        window_end: T0 + (i + 1) * W,
        key: k.key,
        kind: k.kind,
        service: k.service,
        name: k.name,
        count: k.count,
        error_count: k.kind === 'segment' ? 3 : 0,
        fault_count: k.faultEvery ? Math.floor(k.count / k.faultEvery) : 0,
        throttle_count: 0,
        mean_ms: p50 * 1.2,
        p50_ms: p50,
        p90_ms: p50 * 1.8,
        p99_ms: p50 * 3,
      });
    }
  }
  return rows;
}

/** Findings for the slow key in windows slowFrom+2 … end. */
export function findingRows(windows = 24, slowFrom = 16): ReportFindingRow[] {
  const out: ReportFindingRow[] = [];
  for (let i = slowFrom + 2; i < windows; i++) {
    out.push({
      window_start: T0 + i * W,
      key: SLOW_KEY,
      service: 'orders-api',
      name: 'DynamoDB',
      kind: 'step',
      statistic: 'p99',
      baseline_ms: 24,
      current_ms: 72 + i,
      ratio: (72 + i) / 24,
      p_value: 1e-9 / i,
      severity: i > slowFrom + 3 ? 'critical' : 'high',
      since: T0 + slowFrom * W + 60_000,
      exemplar_trace_ids: [
        `1-69c55d10-${String(i).padStart(24, '0')}`,
        '1-69c55d10-aaaaaaaaaaaaaaaaaaaaaaaa',
      ],
      baseline_exemplar_trace_ids: ['1-69c55a00-bbbbbbbbbbbbbbbbbbbbbbbb'],
      new_version: null,
      summary: `p99 of ${SLOW_KEY} rose`,
      explained_by: null,
    });
  }
  return out;
}

export const CALLER_KEY = 'orders-api [segment]';

/**
 * Findings on the caller of the slow key in the same windows, explained by it: higher severity and
 * ratio than the slow key's own, so that only the attribution can put them after it.
 */
export function consequenceRows(windows = 24, slowFrom = 16): ReportFindingRow[] {
  return findingRows(windows, slowFrom).map((r) => ({
    ...r,
    key: CALLER_KEY,
    name: 'orders-api',
    statistic: 'p50',
    baseline_ms: 40,
    current_ms: 400,
    ratio: 10,
    severity: 'critical',
    summary: `p50 of ${CALLER_KEY} rose`,
    explained_by: SLOW_KEY,
  }));
}

export function reportInput(overrides: Partial<ReportInput> = {}): ReportInput {
  return {
    stats: statsRows(),
    findings: findingRows(),
    selfTime: {
      source: 'spans',
      rows: [
        { service: 'orders-api', label: '[segment]', totalMs: 50_000, count: 14_400 },
        { service: 'orders-api', label: 'DynamoDB Query orders', totalMs: 160_000, count: 14_400 },
        { service: 'orders-api', label: 'S3 GetObject assets', totalMs: 108_000, count: 7_200 },
        { service: 'payments', label: '[segment]', totalMs: 20_000, count: 2_880 },
        { service: 'payments', label: 'stripe.example.com', totalMs: 288_000, count: 2_880 },
      ],
    },
    lake: 'file:///tmp/lake',
    range: null,
    region: 'eu-west-1',
    generatedAtMs: Date.UTC(2026, 2, 2, 12, 0),
    ...overrides,
  };
}
