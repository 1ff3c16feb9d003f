import { describe, expect, it } from 'vitest';
import { parseWorkerEvent } from '../../functions/window-worker/handler.js';
import { ConfigError } from '../../lib/core/errors.js';

const W = 300_000;

describe('parseWorkerEvent', () => {
  it('reads one window or a range', () => {
    expect(parseWorkerEvent({ windowStart: '2026-01-01T10:05:00Z' }, W)).toEqual({
      fromMs: Date.UTC(2026, 0, 1, 10, 5),
      toMs: Date.UTC(2026, 0, 1, 10, 10),
    });
    expect(parseWorkerEvent({ from: '2026-01-01T10:00:00Z', to: '2026-01-01T11:00:00Z' }, W)).toEqual({
      fromMs: Date.UTC(2026, 0, 1, 10),
      toMs: Date.UTC(2026, 0, 1, 11),
    });
  });

  it.each([
    [null, /expected \{ "windowStart"/],
    [[], /expected \{ "windowStart"/],
    [{ windowStart: 'yesterday' }, /"windowStart" must be an ISO 8601 time; got "yesterday"/],
    [{ windowStart: '2026-01-01T10:07:00Z' }, /not aligned to the 5-minute windows/],
    [{ from: '2026-01-01T11:00:00Z', to: '2026-01-01T10:00:00Z' }, /"to" must be after "from"/],
    [{ from: '2026-01-01T11:00:00Z' }, /expected \{ "windowStart"/],
  ])('rejects %j with a clear message', (event, message) => {
    expect(() => parseWorkerEvent(event, W)).toThrow(ConfigError);
    expect(() => parseWorkerEvent(event, W)).toThrow(message);
  });
});
