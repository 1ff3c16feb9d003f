/**
 * Inline SVG charts drawn from plain numbers: no library, no external resource, so the report
 * stays one file that works offline. Pure functions from data to markup strings.
 */

/** Escapes text for HTML and SVG content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;',
  );
}

/**
 * Round tick values covering [0, max] (or [min, max]): steps of 1, 2 or 5 times a power of ten.
 *
 * @example
 * niceTicks(0, 87) // => [0, 20, 40, 60, 80, 100]
 */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max <= min) max = min + (min === 0 ? 1 : Math.abs(min) * 0.1);
  const raw = (max - min) / Math.max(1, target);
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * pow >= raw) ?? 10) * pow;
  const first = Math.floor(min / step) * step;
  const ticks: number[] = [];
  for (let v = first; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/**
 * Ticks for a log axis covering [min, max] (both > 0): 1, 2 and 5 times powers of ten, thinned
 * to powers of ten when the range is wide.
 *
 * @example
 * logTicks(3, 700) // => [2, 5, 10, 20, 50, 100, 200, 500, 1000]
 */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.max(min, 1e-9);
  const hi = Math.max(max, lo * 1.01);
  const decades = Math.log10(hi / lo);
  const mult = decades > 4 ? [1] : decades > 2.5 ? [1, 3] : [1, 2, 5];
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of mult) ticks.push(Number((m * 10 ** e).toPrecision(6)));
  }
  const first = ticks.findLastIndex((t) => t <= lo);
  const last = ticks.findIndex((t) => t >= hi);
  return ticks.slice(Math.max(0, first), last < 0 ? ticks.length : last + 1);
}

const MINUTE = 60_000;
const TIME_STEPS = [1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080].map((m) => m * MINUTE);

/**
 * UTC-aligned time ticks within [fromMs, toMs], about `target` of them.
 *
 * @example
 * timeTicks(Date.UTC(2026, 0, 1, 9), Date.UTC(2026, 0, 1, 12)) // => 09:00, 09:30, … 12:00 (epoch ms)
 */
export function timeTicks(fromMs: number, toMs: number, target = 6): number[] {
  if (!(toMs > fromMs)) return [fromMs];
  const raw = (toMs - fromMs) / Math.max(1, target);
  const step = TIME_STEPS.find((s) => s >= raw) ?? TIME_STEPS[TIME_STEPS.length - 1]!;
  const ticks: number[] = [];
  for (let t = Math.ceil(fromMs / step) * step; t <= toMs; t += step) ticks.push(t);
  return ticks;
}

/** `09:05`, or `03-02 09:05` when the chart spans more than a day. */
export function timeLabel(ms: number, withDate: boolean): string {
  const iso = new Date(ms).toISOString();
  return withDate ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
}

/** Compact axis numbers: `0`, `2.5`, `40`, `1.2k`. */
export function axisNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 10_000) return `${Number((v / 1000).toPrecision(3))}k`;
  if (a >= 100 || v === Math.round(v)) return String(Math.round(v));
  return String(Number(v.toPrecision(2)));
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Series {
  readonly label: string;
  readonly color: string;
  readonly points: readonly Point[];
  /** Stroke width in px; default 1.75. */
  readonly width?: number;
  readonly dashed?: boolean;
}

/** A vertical marker, e.g. the onset of a regression. */
export interface Marker {
  readonly x: number;
  readonly label: string;
  readonly color: string;
  /** A shaded band from `x` to `toX` (e.g. onset → first detection). */
  readonly toX?: number;
}

/** A hover target per x value (a window): its `<title>` text shows in the browser's tooltip. */
export interface HoverColumn {
  readonly x: number;
  readonly title: string;
}

export interface LineChartOptions {
  readonly title: string;
  readonly series: readonly Series[];
  readonly markers?: readonly Marker[];
  readonly hover?: readonly HoverColumn[];
  /** Unit shown above the y axis, e.g. `ms` or `%`. */
  readonly yUnit: string;
  /** `log` when the lines differ by orders of magnitude (p50 against p99); default linear. */
  readonly yScale?: 'linear' | 'log';
  /** x is epoch ms; the domain defaults to the extent of the points. */
  readonly xDomain?: readonly [number, number];
  /** Points further apart than this break the line (missing windows are not interpolated). */
  readonly maxGap?: number;
  readonly width?: number;
  readonly height?: number;
  /** Extra attributes for the root element, already escaped (e.g. `data-key="…"`). */
  readonly attributes?: string;
}

const PAD = { left: 52, right: 24, top: 26, bottom: 30 };

/**
 * The `d` attribute of a polyline through the points, broken where consecutive x values are more
 * than `maxGap` apart. Each run with one point becomes a zero-length segment so it stays visible.
 *
 * @example
 * pathData([{ x: 0, y: 0 }, { x: 10, y: 5 }], (p) => p.x, (p) => p.y) // => 'M0,0L10,5'
 */
export function pathData(
  points: readonly Point[],
  sx: (p: Point) => number,
  sy: (p: Point) => number,
  maxGap = Number.POSITIVE_INFINITY,
): string {
  let d = '';
  let prev: Point | undefined;
  for (const p of points) {
    const cmd = prev === undefined || p.x - prev.x > maxGap ? 'M' : 'L';
    d += `${cmd}${round(sx(p))},${round(sy(p))}`;
    prev = p;
  }
  return d;
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

/**
 * A time-series line chart as an SVG string: axes with round ticks, one path per series (points
 * sorted by x), vertical markers with labels, a legend, and hover columns with tooltips.
 *
 * @example
 * lineChart({ title: 'p99', yUnit: 'ms', series: [{ label: 'p99', color: '#d62728', points }] })
 */
export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 230;
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const all = options.series.flatMap((s) => s.points);
  const xs = all.map((p) => p.x);
  const [x0, x1] = options.xDomain ?? [Math.min(...xs), Math.max(...xs)];
  const xMin = Number.isFinite(x0) ? x0 : 0;
  const xMax = Number.isFinite(x1) && x1 > xMin ? x1 : xMin + 1;
  const positive = all.map((p) => p.y).filter((y) => y > 0);
  const log = options.yScale === 'log' && positive.length > 0;
  const yTicks = log
    ? logTicks(Math.min(...positive), Math.max(...positive))
    : niceTicks(0, Math.max(0, ...all.map((p) => p.y)), 4);
  const yMin = log ? yTicks[0]! : 0;
  const yMax = yTicks[yTicks.length - 1] ?? 1;
  const sx = (x: number) => PAD.left + ((x - xMin) / (xMax - xMin)) * plotW;
  // On a log axis a zero (or negative) value sits on the bottom line rather than at -infinity.
  const frac = log
    ? (y: number) => (y <= yMin ? 0 : Math.log(y / yMin) / Math.log(yMax / yMin))
    : (y: number) => y / (yMax || 1);
  const sy = (y: number) => PAD.top + plotH - frac(y) * plotH;
  const withDate = xMax - xMin > 86_400_000;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(options.title)}"${options.attributes ? ` ${options.attributes}` : ''}>`,
  );
  out.push(`<title>${escapeXml(options.title)}</title>`);
  // Grid and y axis.
  for (const t of yTicks) {
    const y = round(sy(t));
    out.push(
      `<line class="grid" x1="${PAD.left}" x2="${width - PAD.right}" y1="${y}" y2="${y}"/>`,
      `<text class="tick" x="${PAD.left - 6}" y="${y + 3.5}" text-anchor="end">${axisNumber(t)}</text>`,
    );
  }
  out.push(
    `<text class="unit" x="${PAD.left - 6}" y="${PAD.top - 10}" text-anchor="end">${escapeXml(log ? `${options.yUnit} (log)` : options.yUnit)}</text>`,
  );
  // x axis.
  const axisY = PAD.top + plotH;
  out.push(`<line class="axis" x1="${PAD.left}" x2="${width - PAD.right}" y1="${axisY}" y2="${axisY}"/>`);
  for (const t of timeTicks(xMin, xMax, Math.max(2, Math.floor(plotW / 90)))) {
    const x = round(sx(t));
    out.push(
      `<line class="axis" x1="${x}" x2="${x}" y1="${axisY}" y2="${axisY + 4}"/>`,
      `<text class="tick" x="${x}" y="${axisY + 16}" text-anchor="middle">${timeLabel(t, withDate)}</text>`,
    );
  }
  // Markers under the lines, so the lines stay readable; labels stacked so close onsets stay legible.
  (options.markers ?? []).forEach((m, i) => {
    const x = round(sx(Math.min(Math.max(m.x, xMin), xMax)));
    if (m.toX !== undefined && m.toX > m.x) {
      const x2 = round(sx(Math.min(m.toX, xMax)));
      out.push(
        `<rect class="band" x="${x}" y="${PAD.top}" width="${Math.max(1, x2 - x)}" height="${plotH}" fill="${m.color}"/>`,
      );
    }
    // About 6.5 px per character at 11 px: flip the label left of the line near the right edge.
    const flip = x + 4 + m.label.length * 6.5 > width - PAD.right;
    out.push(
      `<line class="marker" x1="${x}" x2="${x}" y1="${PAD.top}" y2="${axisY}" stroke="${m.color}"/>`,
      `<text class="marker-label" x="${flip ? x - 4 : x + 4}" y="${PAD.top + 11 + 13 * i}"${flip ? ' text-anchor="end"' : ''} fill="${m.color}">${escapeXml(m.label)}</text>`,
    );
  });
  const maxGap = options.maxGap ?? Number.POSITIVE_INFINITY;
  for (const s of options.series) {
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    if (pts.length === 0) continue;
    out.push(
      `<path class="series" data-series="${escapeXml(s.label)}" data-points="${pts.length}" d="${pathData(
        pts,
        (p) => sx(p.x),
        (p) => sy(p.y),
        maxGap,
      )}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 1.75}"${s.dashed ? ' stroke-dasharray="4 3"' : ''} stroke-linejoin="round" stroke-linecap="round"/>`,
    );
  }
  // Legend, top right, right to left.
  let lx = width - PAD.right;
  for (const s of [...options.series].reverse()) {
    const text = escapeXml(s.label);
    const w = 7 * s.label.length + 22;
    lx -= w;
    out.push(
      `<line x1="${lx}" x2="${lx + 14}" y1="${PAD.top - 13}" y2="${PAD.top - 13}" stroke="${s.color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`,
      `<text class="legend" x="${lx + 18}" y="${PAD.top - 9}">${text}</text>`,
    );
  }
  // Hover columns last so they sit on top and catch the pointer.
  const hover = [...(options.hover ?? [])].sort((a, b) => a.x - b.x);
  hover.forEach((h, i) => {
    const left = i === 0 ? PAD.left : (sx(hover[i - 1]!.x) + sx(h.x)) / 2;
    const right = i === hover.length - 1 ? width - PAD.right : (sx(h.x) + sx(hover[i + 1]!.x)) / 2;
    out.push(
      `<rect class="hover" x="${round(left)}" y="${PAD.top}" width="${round(Math.max(0.5, right - left))}" height="${plotH}"><title>${escapeXml(h.title)}</title></rect>`,
    );
  });
  out.push('</svg>');
  return out.join('');
}

export interface Bar {
  readonly label: string;
  readonly value: number;
  /** Text at the end of the bar, e.g. `1,204 s (41 %)`. */
  readonly text: string;
  readonly color: string;
}

/**
 * Horizontal bars, longest first as given, scaled to `max` (default the largest value).
 *
 * @example
 * barChart([{ label: 'DynamoDB Query orders', value: 120, text: '120 s', color: '#4e79a7' }])
 */
export function barChart(
  bars: readonly Bar[],
  options: { max?: number; width?: number; title?: string } = {},
) {
  const width = options.width ?? 640;
  const labelW = 250;
  const textW = 120;
  const rowH = 20;
  const height = bars.length * rowH + 6;
  const max = options.max ?? Math.max(0, ...bars.map((b) => b.value));
  const plotW = width - labelW - textW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="bars" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img"${options.title ? ` aria-label="${escapeXml(options.title)}"` : ''}>`,
  ];
  bars.forEach((b, i) => {
    const y = 3 + i * rowH;
    const w = max > 0 ? Math.max(b.value > 0 ? 1 : 0, (b.value / max) * plotW) : 0;
    const label = b.label.length > 38 ? `${b.label.slice(0, 37)}…` : b.label;
    out.push(
      `<g><title>${escapeXml(`${b.label}: ${b.text}`)}</title>`,
      `<text class="bar-label" x="${labelW - 8}" y="${y + 13}" text-anchor="end">${escapeXml(label)}</text>`,
      `<rect class="bar" x="${labelW}" y="${y + 2}" width="${round(w)}" height="${rowH - 6}" fill="${b.color}"/>`,
      `<text class="bar-text" x="${round(labelW + w + 6)}" y="${y + 13}">${escapeXml(b.text)}</text></g>`,
    );
  });
  out.push('</svg>');
  return out.join('');
}
