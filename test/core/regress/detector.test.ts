import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/core/errors.js';
import type { RegressionRow } from '../../../lib/core/model.js';
import {
  DEFAULT_REGRESSION_CONFIG,
  detectWindows,
  encodeBaseline,
  type KeyBaseline,
  resolveRegressionConfig,
  severityOf,
  type TestDiagnostic,
  type WindowStats,
} from '../../../lib/core/regress/index.js';
import { DAY, generator, HOUR, lognormal, rowOf, T0, traceIdOf, W } from './rows.js';

const config = resolveRegressionConfig();
const KEY = 'orders > DynamoDB GetItem orders';

/** `count` windows of one key from `medianAt(t)`, with exemplars and versions from the callbacks. */
function windowsOf(
  from: number,
  count: number,
  medianAt: (t: number) => number,
  options: { seed?: number; n?: number; key?: string; versionAt?: (t: number) => string } = {},
): WindowStats[] {
  const random = generator(options.seed ?? 1);
  const out: WindowStats[] = [];
  for (let i = 0; i < count; i++) {
    const start = from + i * W;
    out.push({
      windowStart: start,
      windowMs: W,
      rows: [
        rowOf({
          key: options.key ?? KEY,
          start,
          samples: lognormal(random, options.n ?? 400, medianAt(start)),
          exemplars: [traceIdOf(start, 1), traceIdOf(start, 2)],
          versions: [options.versionAt?.(start) ?? '1.0.0'],
        }),
      ],
    });
  }
  return out;
}

function firstFinding(findings: RegressionRow[], from: number): RegressionRow | undefined {
  return findings.filter((f) => f.window_start >= from).sort((a, b) => a.window_start - b.window_start)[0];
}

describe('step detection', () => {
  it('reports nothing on identical distributions', () => {
    // Prepare: six hours of one unchanging distribution
    const states = new Map<string, KeyBaseline>();
    // Act
    const findings = detectWindows(
      states,
      windowsOf(T0, 72, () => 40),
      config,
    );
    // Assess
    expect(findings).toEqual([]);
  });

  it('finds a +60 % step within two windows, with onset, exemplars and the new version', () => {
    // Prepare: two hours at 40 ms, then 64 ms from `step` on, shipped as version 2.0.0
    const step = T0 + 2 * HOUR;
    const windows = windowsOf(T0, 30, (t) => (t >= step ? 64 : 40), {
      versionAt: (t) => (t >= step ? '2.0.0' : '1.0.0'),
    });
    // Act
    const findings = detectWindows(new Map(), windows, config);
    // Assess
    const first = firstFinding(findings, step);
    expect(first).toBeDefined();
    expect(findings.every((f) => f.window_start >= step)).toBe(true);
    expect((first!.window_start - step) / W).toBeLessThanOrEqual(2);
    expect(first!.kind).toBe('step');
    expect(first!.key).toBe(KEY);
    expect(first!.service).toBe('orders');
    expect(first!.since).toBe(step);
    expect(first!.new_version).toBe('2.0.0');
    // Once both current windows are past the step, the ratio is the injected one.
    const p50 = findings.find((f) => f.window_start === step + W && f.statistic === 'p50')!;
    expect(p50.ratio).toBeGreaterThan(1.4);
    expect(p50.ratio).toBeLessThan(1.8);
    expect(p50.baseline_ms).toBeGreaterThan(36);
    expect(p50.baseline_ms).toBeLessThan(44);
    expect(p50.p_value).toBeLessThan(config.fdr);
    // Slow side: IDs of windows at or after the step; baseline side: IDs from before it.
    const windowOfId = (id: string) => Number.parseInt(id.slice(2, 10), 16) * 1000;
    expect(p50.exemplar_trace_ids.length).toBeGreaterThan(0);
    expect(p50.exemplar_trace_ids.every((id) => windowOfId(id) >= step)).toBe(true);
    expect(p50.baseline_exemplar_trace_ids.length).toBeGreaterThan(0);
    expect(p50.baseline_exemplar_trace_ids.every((id) => windowOfId(id) < step)).toBe(true);
    expect(p50.summary).toContain(`p50 of ${KEY} rose`);
    expect(p50.summary).toContain('new version 2.0.0');
  });

  it('does not call 0.2 ms -> 0.4 ms an incident (absolute floor)', () => {
    const step = T0 + 2 * HOUR;
    const windows = windowsOf(T0, 30, (t) => (t >= step ? 0.4 : 0.2));
    expect(detectWindows(new Map(), windows, config)).toEqual([]);
    // The same change with the floor lowered is found, so the floor is what held it back.
    const lowered = resolveRegressionConfig({ minDeltaMs: 0.05 });
    expect(detectWindows(new Map(), windows, lowered).length).toBeGreaterThan(0);
  });

  it('ignores a change below the ratio threshold even when it is statistically clear', () => {
    const step = T0 + 2 * HOUR;
    const windows = windowsOf(T0, 30, (t) => (t >= step ? 44 : 40), { n: 3000 });
    expect(detectWindows(new Map(), windows, config)).toEqual([]);
  });

  it('does not test keys with too few samples', () => {
    const step = T0 + 2 * HOUR;
    const windows = windowsOf(T0, 30, (t) => (t >= step ? 200 : 40), { n: 3 });
    expect(detectWindows(new Map(), windows, config)).toEqual([]);
  });
});

describe('diagnostics', () => {
  it('reports every test with the gates that stopped it, without changing the findings', () => {
    // Prepare: 100 ms, +10 % at 3,000 calls a window (clear, 10 ms, but below minRatio), then +60 %
    const small = T0 + 2 * HOUR;
    const large = T0 + 3 * HOUR;
    const windows = windowsOf(T0, 42, (t) => (t >= large ? 160 : t >= small ? 110 : 100), { n: 3000 });
    const seen: TestDiagnostic[] = [];
    // Act
    const findings = detectWindows(new Map(), windows, config, (d) => seen.push(d));
    // Assess: observing changes nothing
    expect(findings).toEqual(detectWindows(new Map(), windows, config));
    // Each finding is a test that passed every gate, with the p-value reported as judged.
    for (const f of findings.filter((x) => x.kind === 'step')) {
      const d = seen.find(
        (x) =>
          x.windowStart === f.window_start &&
          x.statistic === f.statistic &&
          x.kind === 'step' &&
          x.failed.length === 0,
      );
      expect(d).toBeDefined();
      expect(d!.judgedP).toBe(f.p_value);
      expect(d!.p).toBeLessThanOrEqual(d!.bar);
      expect(d!.bar).toBeLessThanOrEqual(d!.barUncapped);
    }
    // The +10 % step is significant on p50 but stopped by the ratio gate.
    const p50 = seen.filter(
      (x) =>
        x.statistic === 'p50' && x.kind === 'step' && x.windowStart === small + W && x.horizon === 'short',
    );
    expect(p50).toHaveLength(1);
    expect(p50[0]!.failed).toEqual(['ratio']);
    expect(p50[0]!.p).toBeLessThan(1e-10);
    expect(p50[0]!.ratio).toBeGreaterThan(1.05);
    expect(p50[0]!.ratio).toBeLessThan(1.15);
  });

  it('names the samples gate for a percentile with too few calls', () => {
    const seen: TestDiagnostic[] = [];
    detectWindows(
      new Map(),
      windowsOf(T0, 20, () => 40, { n: 100 }),
      config,
      (d) => seen.push(d),
    );
    // 200 calls in two windows: enough for p50 and p90, not for p99 (stepNeed 500).
    const short = seen.filter((d) => d.windowStart === T0 + 19 * W && d.horizon === 'short');
    expect(short.find((d) => d.statistic === 'p99')!.failed).toEqual(['samples']);
    expect(short.find((d) => d.statistic === 'p50')!.failed).not.toContain('samples');
  });
});

describe('tail changes and daily ramps', () => {
  /** Windows whose calls above `cut` ms are multiplied by `factor(t)`: only the slow calls change. */
  function tailWindows(count: number, cut: number, factor: (t: number) => number, n: number): WindowStats[] {
    const random = generator(7);
    return Array.from({ length: count }, (_, i) => {
      const start = T0 + i * W;
      const samples = lognormal(random, n, 40).map((v) => (v > cut ? v * factor(start) : v));
      return {
        windowStart: start,
        windowMs: W,
        rows: [rowOf({ key: KEY, start, samples, exemplars: [traceIdOf(start, 1)], versions: ['1.0.0'] })],
      };
    });
  }

  it('finds a +25 % change of the calls above p95 on p99 one window after it starts, and not on p50', () => {
    // Prepare: lognormal(40 ms, σ 0.4) has its p95 near 77 ms; from `step` on the calls above it
    // are 1.25x slower. Counting calls above the baseline p99 alone needs 5 windows here; a rank
    // test on the slow calls themselves sees it sooner. Its size, read from a band of quantiles
    // around p99 (a handful of calls), is 1.17 in the second window; read from all the calls
    // above p95 of each side it is the 1.25 it is.
    const step = T0 + 2 * HOUR;
    const windows = tailWindows(30, 77, (t) => (t >= step ? 1.25 : 1), 300);
    // Act
    const findings = detectWindows(new Map(), windows, config);
    // Assess
    expect(findings.filter((f) => f.window_start < step)).toEqual([]);
    const p99 = findings.filter((f) => f.statistic === 'p99');
    expect(p99.length).toBeGreaterThan(0);
    expect(p99[0]!.window_start - step).toBeLessThanOrEqual(W);
    expect(p99[0]!.ratio).toBeGreaterThan(1.2);
    expect(p99[0]!.ratio).toBeLessThan(1.3);
    expect(findings.filter((f) => f.statistic === 'p50')).toEqual([]);
  });

  it('widens the tail rank test by the noise of the slow calls values, not of their count', () => {
    // Prepare: every other window has twice its calls above 77 ms, the next one half of them (a
    // count that swings by window, values that do not); from `step` on those calls are 1.3x slower.
    const random = generator(11);
    const step = T0 + 2 * HOUR;
    const windows: WindowStats[] = Array.from({ length: 30 }, (_, i) => {
      const start = T0 + i * W;
      const drawn = lognormal(random, 400, 40);
      const slow = drawn.filter((v) => v > 77);
      // Even windows: as many again, drawn independently from the same slow calls; odd: half.
      if (i % 2 === 0) {
        const more = slow.length;
        while (slow.length < 2 * more) slow.push(...lognormal(random, 20, 40).filter((v) => v > 77));
      } else slow.splice(0, Math.ceil(slow.length / 2));
      const factor = start >= step ? 1.3 : 1;
      const samples = [...drawn.filter((v) => v <= 77), ...slow.map((v) => v * factor)];
      return { windowStart: start, windowMs: W, rows: [rowOf({ key: KEY, start, samples })] };
    });
    const seen: TestDiagnostic[] = [];
    // Act
    const findings = detectWindows(new Map(), windows, config, (d) => seen.push(d));
    // Assess: the values of the slow calls did not vary beyond chance, so the test is not widened
    const before = seen.filter((d) => d.statistic === 'p99' && d.windowStart < step && d.detail.rankPhi);
    expect(before.length).toBeGreaterThan(0);
    for (const d of before) expect(d.detail.rankPhi).toBeLessThan(2);
    // Once both current windows are slow, the rank test on the slow calls alone is decisive.
    const rank = seen.find(
      (d) => d.statistic === 'p99' && d.horizon === 'short' && d.windowStart === step + W,
    );
    expect(rank!.detail.tail).toBeLessThan(1e-6);
    const p99 = findings.filter((f) => f.statistic === 'p99' && f.window_start >= step);
    expect(p99.length).toBeGreaterThan(0);
    expect(p99[0]!.window_start - step).toBeLessThanOrEqual(2 * W);
    expect(findings.filter((f) => f.window_start < step)).toEqual([]);
  });

  it('sees a +25 % step on a falling daily ramp, which the recent hour alone would shrink below the bar', () => {
    // Prepare: two days of a ±20 % daily cycle; on day 3 a +25 % step at the steepest fall
    const cycle = (t: number) => 40 * (1 + 0.2 * Math.cos((2 * Math.PI * (t % DAY)) / DAY - Math.PI / 2));
    const step = T0 + 2 * DAY + 12 * HOUR;
    const windows = windowsOf(T0, 2 * 288 + 12 * 12 + 24, (t) => cycle(t) * (t >= step ? 1.25 : 1), {
      n: 800,
    });
    // Act
    const findings = detectWindows(new Map(), windows, config);
    // Assess: the step is found, nothing on the same day before it
    expect(findings.filter((f) => f.window_start >= T0 + 2 * DAY && f.window_start < step)).toEqual([]);
    const found = findings.filter((f) => f.window_start >= step && f.kind === 'step');
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]!.window_start - step).toBeLessThanOrEqual(2 * W);
  });

  it('stops loosening the bar after fdrMaxFindings findings in a window', () => {
    // Prepare: 30 busy keys double together; one quieter key rises +30 %, a weaker signal
    const step = T0 + 2 * HOUR;
    const keys = Array.from({ length: 31 }, (_, i) => `svc${i} > call`);
    const perKey = keys.map((key, i) =>
      windowsOf(T0, 30, (t) => (t >= step ? (i < 30 ? 80 : 52) : 40), {
        key,
        seed: 300 + i,
        n: i < 30 ? 300 : 150,
      }),
    );
    const windows: WindowStats[] = perKey[0]!.map((w, j) => ({
      windowStart: w.windowStart,
      windowMs: W,
      rows: perKey.flatMap((list) => list[j]!.rows),
    }));
    const weak = (max: number) =>
      detectWindows(new Map(), windows, resolveRegressionConfig({ fdrMaxFindings: max })).filter(
        (f) => f.key === 'svc30 > call',
      );
    // Act
    const capped = weak(1);
    const uncapped = weak(1000);
    const findings = detectWindows(new Map(), windows, config);
    // Assess: the 30 busy keys lend the weak one a looser bar only when the cap allows it
    expect(capped.length).toBeLessThan(uncapped.length);
    expect(new Set(findings.map((f) => f.key))).toEqual(new Set(keys));
    for (const f of findings) expect(f.p_value).toBeLessThanOrEqual(config.fdr);
    expect(() => resolveRegressionConfig({ fdrMaxFindings: 0 })).toThrow(/fdrMaxFindings/);
  });
});

describe('seasonality', () => {
  it('does not report a daily slow hour once previous days show it, but does on the first day', () => {
    // Prepare: 40 ms, except 60 ms every day from 10:00 to 11:00 UTC
    const slow = (t: number) => new Date(t).getUTCHours() === 10;
    const windows = windowsOf(T0, 3 * 288, (t) => (slow(t) ? 60 : 40), { n: 300 });
    // Act
    const findings = detectWindows(new Map(), windows, config);
    // Assess: found on day 1 (nothing to compare with), silent on day 3
    const onDay = (d: number) =>
      findings.filter((f) => f.window_start >= T0 + d * DAY && f.window_start < T0 + (d + 1) * DAY);
    expect(onDay(0).length).toBeGreaterThan(0);
    expect(onDay(2)).toEqual([]);
  });
});

describe('drift detection', () => {
  it('finds +5 %/h within 6 hours after a flat day, and not before it starts', () => {
    // Prepare: one flat day at 40 ms, then +5 % an hour
    const start = T0 + DAY;
    const windows = windowsOf(T0, 288 + 7 * 12, (t) => (t < start ? 40 : 40 * 1.05 ** ((t - start) / HOUR)), {
      n: 300,
    });
    // Act
    const findings = detectWindows(new Map(), windows, config);
    // Assess
    expect(findings.filter((f) => f.window_start < start)).toEqual([]);
    const first = firstFinding(findings, start);
    expect(first).toBeDefined();
    expect(first!.window_start - start).toBeLessThanOrEqual(6 * HOUR);
    const drift = findings.find((f) => f.kind === 'drift');
    expect(drift).toBeDefined();
    expect(drift!.ratio).toBeGreaterThanOrEqual(config.driftMinRatio);
    expect(drift!.since).toBeGreaterThanOrEqual(start - HOUR);
    expect(drift!.summary).toContain('drifting up');
  });
});

describe('re-processing and arrival order', () => {
  // 18 windows: all within the sketch ring, step at the 14th.
  const step = T0 + 13 * W;
  const windows = windowsOf(T0, 18, (t) => (t >= step ? 70 : 40), { seed: 5 });

  it('has findings to compare', () => {
    expect(detectWindows(new Map(), windows, config).length).toBeGreaterThan(0);
  });

  it('replaces a re-processed window instead of counting it twice', () => {
    const states = new Map<string, KeyBaseline>();
    const first = detectWindows(states, windows, config);
    const before = encodeBaseline(states.get(KEY)!);
    const last = windows.at(-1)!;
    const again = detectWindows(states, [last], config);
    expect(again).toEqual(first.filter((f) => f.window_start === last.windowStart));
    expect(encodeBaseline(states.get(KEY)!)).toEqual(before);
  });

  it('ends in the same state whatever the arrival order, and re-runs give the in-order findings', () => {
    const inOrder = new Map<string, KeyBaseline>();
    const expected = detectWindows(inOrder, windows, config);
    const shuffled = new Map<string, KeyBaseline>();
    const random = generator(9);
    const order = [...windows].sort(() => random() - 0.5);
    // Each window alone, so detectWindows cannot put them back in order.
    for (const w of order) detectWindows(shuffled, [w], config);
    expect(encodeBaseline(shuffled.get(KEY)!)).toEqual(encodeBaseline(inOrder.get(KEY)!));
    expect(detectWindows(shuffled, windows, config)).toEqual(expected);
  });

  it('counts a window given twice in one call once', () => {
    const a = new Map<string, KeyBaseline>();
    const b = new Map<string, KeyBaseline>();
    expect(detectWindows(a, [...windows, ...windows.slice(-3)], config)).toEqual(
      detectWindows(b, windows, config),
    );
    expect(encodeBaseline(a.get(KEY)!)).toEqual(encodeBaseline(b.get(KEY)!));
  });

  it('keeps the state bounded', () => {
    const states = new Map<string, KeyBaseline>();
    detectWindows(
      states,
      windowsOf(T0, 2 * 288, () => 40, { n: 100 }),
      config,
    );
    const s = states.get(KEY)!;
    expect(s.series.length).toBe(config.historyWindows);
    expect(s.ring.length).toBe(config.maxCurrentWindows + config.baselineWindows + config.reprocessWindows);
    expect(s.hours.length).toBe(48);
  });
});

describe('false discovery control across keys', () => {
  it('finds the one changed key among many unchanged ones', () => {
    const step = T0 + 2 * HOUR;
    const keys = Array.from({ length: 40 }, (_, i) => `svc${i} > call`);
    const perKey = keys.map((key, i) =>
      windowsOf(T0, 30, (t) => (i === 7 && t >= step ? 80 : 40), { key, seed: 100 + i, n: 200 }),
    );
    const windows: WindowStats[] = perKey[0]!.map((w, j) => ({
      windowStart: w.windowStart,
      windowMs: W,
      rows: perKey.flatMap((list) => list[j]!.rows),
    }));
    const findings = detectWindows(new Map(), windows, config);
    expect(new Set(findings.map((f) => f.key))).toEqual(new Set(['svc7 > call']));
  });
});

describe('configuration and severity', () => {
  it('fills defaults and rejects bad values with the setting named', () => {
    expect(resolveRegressionConfig({ minRatio: 1.5 })).toEqual({
      ...DEFAULT_REGRESSION_CONFIG,
      minRatio: 1.5,
    });
    expect(() => resolveRegressionConfig({ minRatio: 0.9 })).toThrow(ConfigError);
    expect(() => resolveRegressionConfig({ fdr: 2 })).toThrow(/fdr/);
    expect(() => resolveRegressionConfig({ baselineWindows: 2.5 })).toThrow(/baselineWindows/);
    expect(() => resolveRegressionConfig({ bogus: 1 } as never)).toThrow(/bogus/);
  });

  it('grades severity by size and evidence', () => {
    expect(severityOf(2.5, 1e-9)).toBe('critical');
    expect(severityOf(2.5, 1e-3)).toBe('medium');
    expect(severityOf(1.6, 1e-5)).toBe('high');
    expect(severityOf(1.25, 1e-9)).toBe('low');
  });
});
