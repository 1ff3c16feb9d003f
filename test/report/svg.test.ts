import { describe, expect, it } from 'vitest';
import {
  axisNumber,
  barChart,
  escapeXml,
  lineChart,
  logTicks,
  niceTicks,
  pathData,
  timeTicks,
} from '../../lib/report/svg.js';

const H = 3_600_000;
const T = Date.UTC(2026, 2, 2, 9);

/** The (x, y) pairs of every subpath of a path's `d` attribute. */
function subpaths(d: string): [number, number][][] {
  return d
    .split('M')
    .filter(Boolean)
    .map((run) => run.split('L').map((p) => p.split(',').map(Number) as [number, number]));
}

describe('ticks', () => {
  it('covers [0, max] with round steps', () => {
    expect(niceTicks(0, 87)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    const t = niceTicks(0, 1234, 4);
    expect(t[0]).toBe(0);
    expect(t[t.length - 1]).toBeGreaterThanOrEqual(1234);
  });

  it('log ticks bracket the data with 1-2-5 steps', () => {
    expect(logTicks(3, 700)).toEqual([2, 5, 10, 20, 50, 100, 200, 500, 1000]);
    const wide = logTicks(0.01, 50_000);
    expect(wide.every((v) => Math.log10(v) === Math.round(Math.log10(v)))).toBe(true);
    expect(wide[0]).toBeLessThanOrEqual(0.01);
    expect(wide[wide.length - 1]).toBeGreaterThanOrEqual(50_000);
  });

  it('time ticks are UTC-aligned and inside the range', () => {
    const ticks = timeTicks(T + 7 * 60_000, T + 3 * H, 6);
    expect(ticks[0]).toBe(T + 30 * 60_000);
    for (const t of ticks) {
      expect(t % (30 * 60_000)).toBe(0);
      expect(t).toBeGreaterThanOrEqual(T);
      expect(t).toBeLessThanOrEqual(T + 3 * H);
    }
  });

  it('axis numbers are compact', () => {
    expect([0, 2.5, 40, 150, 12_000].map(axisNumber)).toEqual(['0', '2.5', '40', '150', '12k']);
  });
});

describe('pathData', () => {
  it('breaks the line where points are further apart than the gap', () => {
    const pts = [0, 1, 2, 5, 6].map((x) => ({ x, y: x * 10 }));
    const d = pathData(
      pts,
      (p) => p.x,
      (p) => p.y,
      1.5,
    );
    expect(subpaths(d).map((r) => r.length)).toEqual([3, 2]);
    expect(
      pathData(
        pts,
        (p) => p.x,
        (p) => p.y,
      ),
    ).toBe('M0,0L1,10L2,20L5,50L6,60');
  });
});

describe('lineChart', () => {
  const series = [
    { label: 'p50', color: '#00f', points: [0, 1, 2, 3].map((i) => ({ x: T + i * 300_000, y: 10 + i })) },
    {
      label: 'p99',
      color: '#f00',
      points: [0, 1, 2, 3].map((i) => ({ x: T + i * 300_000, y: 100 + 50 * i })),
    },
  ];

  it('draws one path per series, all points inside the plot, higher values higher up', () => {
    const svg = lineChart({ title: 't', yUnit: 'ms', series, width: 600, height: 200 });
    const paths = [
      ...svg.matchAll(/<path class="series" data-series="([^"]+)" data-points="(\d+)" d="([^"]+)"/g),
    ];
    expect(paths.map((m) => [m[1], Number(m[2])])).toEqual([
      ['p50', 4],
      ['p99', 4],
    ]);
    for (const m of paths) {
      for (const [x, y] of subpaths(m[3]!).flat()) {
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThanOrEqual(600);
        expect(y).toBeGreaterThanOrEqual(0);
        expect(y).toBeLessThanOrEqual(200);
      }
    }
    const lastY = (i: number) => subpaths(paths[i]![3]!).flat().at(-1)![1];
    // SVG y grows downwards: p99 (larger) sits above p50.
    expect(lastY(1)).toBeLessThan(lastY(0));
  });

  it('places a marker at its x and escapes every label', () => {
    const svg = lineChart({
      title: 'a <b> & "c"',
      yUnit: 'ms',
      series,
      xDomain: [T, T + 900_000],
      markers: [{ x: T + 450_000, label: '<onset>', color: '#c00' }],
      hover: [{ x: T, title: '<tip>' }],
      width: 600,
    });
    expect(svg).not.toContain('<b>');
    expect(svg).not.toContain('<onset>');
    expect(svg).toContain('&lt;onset&gt;');
    expect(svg).toContain('&lt;tip&gt;');
    const marker = /<line class="marker" x1="([\d.]+)"/.exec(svg);
    // Halfway through the domain, inside the padded plot area.
    const plotMid = 52 + (600 - 52 - 24) / 2;
    expect(Number(marker![1])).toBeCloseTo(plotMid, 0);
  });

  it('uses a log axis when asked, so a small line keeps its shape', () => {
    const svg = lineChart({ title: 't', yUnit: 'ms', yScale: 'log', series });
    expect(svg).toContain('ms (log)');
    const linear = lineChart({ title: 't', yUnit: 'ms', series });
    expect(linear).not.toContain('(log)');
    const p50 = (s: string) =>
      subpaths(/data-series="p50" data-points="4" d="([^"]+)"/.exec(s)![1]!)
        .flat()
        .map(([, y]) => y);
    const spread = (ys: number[]) => Math.max(...ys) - Math.min(...ys);
    expect(spread(p50(svg))).toBeGreaterThan(spread(p50(linear)) * 3);
  });
});

describe('barChart and escaping', () => {
  it('scales bars to the largest value', () => {
    const svg = barChart([
      { label: 'a', value: 100, text: '100', color: '#111' },
      { label: 'b', value: 25, text: '25', color: '#222' },
    ]);
    const widths = [...svg.matchAll(/<rect class="bar" [^>]*width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths[0]! / widths[1]!).toBeCloseTo(4, 1);
  });

  it('escapes markup characters', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
