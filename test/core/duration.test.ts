import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseTime } from '../../lib/core/duration.js';

describe('parseDuration', () => {
  it.each([
    ['5m', 300_000],
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['1d', 86_400_000],
    ['1500', 1500],
    ['0.5h', 1_800_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'm', '5 minutes', '5m3', '-5m', 'abc'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeNull();
  });

  it('formats back compactly', () => {
    expect(formatDuration(300_000)).toBe('5m');
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(250)).toBe('250ms');
  });
});

describe('parseTime', () => {
  const now = Date.UTC(2026, 5, 1, 12, 0, 0);
  it('reads ISO 8601, dates as UTC midnight, epoch ms and now-relative times', () => {
    expect(parseTime('2026-01-01T00:05:00Z', now)).toBe(Date.UTC(2026, 0, 1, 0, 5));
    expect(parseTime('2026-01-01', now)).toBe(Date.UTC(2026, 0, 1));
    expect(parseTime('1767225900000', now)).toBe(1767225900000);
    expect(parseTime('now', now)).toBe(now);
    expect(parseTime('now-3h', now)).toBe(now - 3 * 3_600_000);
  });
  it('rejects what is not a time', () => {
    expect(parseTime('yesterday', now)).toBeNull();
    expect(parseTime('2026-13-45', now)).toBeNull();
    expect(parseTime('now-3x', now)).toBeNull();
  });
});
