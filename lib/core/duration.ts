/**
 * Parses a duration such as `5m`, `90s`, `1h`, `1h30m`, `250ms` or a bare number of milliseconds.
 * Returns null when the text is not a duration.
 *
 * @example parseDuration('5m') === 300_000
 */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    const n = Number(m[1]);
    const unit = m[2];
    total +=
      n *
      (unit === 'ms'
        ? 1
        : unit === 's'
          ? 1000
          : unit === 'm'
            ? 60_000
            : unit === 'h'
              ? 3_600_000
              : 86_400_000);
    matched = re.lastIndex;
  }
  return matched === t.length && matched > 0 ? total : null;
}

/**
 * Formats milliseconds compactly: `5m`, `1h30m`, `250ms`.
 *
 * @example formatDuration(300_000) === '5m'
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}

/**
 * Parses a point in time: ISO 8601 (`2026-01-01T10:00:00Z`, a date alone is UTC midnight),
 * epoch milliseconds, or `now`, `now-3h`. Returns null when not a time.
 *
 * @example parseTime('2026-01-01T00:05:00Z', 0) === Date.UTC(2026, 0, 1, 0, 5)
 */
export function parseTime(text: string, nowMs: number): number | null {
  const t = text.trim();
  if (t === 'now') return nowMs;
  const rel = /^now-(.+)$/.exec(t);
  if (rel) {
    const d = parseDuration(rel[1]!);
    return d === null ? null : nowMs - d;
  }
  if (/^\d{12,}$/.test(t)) return Number(t);
  if (!/^\d{4}-\d{2}-\d{2}/.test(t)) return null;
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(t) ? `${t}T00:00:00Z` : t;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}
