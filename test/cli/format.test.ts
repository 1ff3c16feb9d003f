import { describe, expect, it } from 'vitest';
import { makeStyle, ms, table } from '../../lib/cli/format.js';

describe('terminal formatting', () => {
  it('aligns columns, numbers to the right', () => {
    const out = table(
      ['KEY', 'COUNT'],
      [
        ['a > b', '12'],
        ['longer key', '1,234'],
      ],
    );
    expect(out.split('\n')).toEqual(['KEY         COUNT', 'a > b          12', 'longer key  1,234']);
  });

  it('colours only on a TTY and never with NO_COLOR', () => {
    expect(makeStyle(false).red('x')).toBe('x');
    expect(makeStyle(true, { NO_COLOR: '1' }).red('x')).toBe('x');
    expect(makeStyle(true).red('x')).toBe('\u001b[31mx\u001b[39m');
  });

  it('keeps coloured cells aligned', () => {
    const s = makeStyle(true);
    const out = table(['A', 'B'], [[s.red('x'), 'y']]);
    expect(out.split('\n')[1]).toBe(`${s.red('x')}  y`);
  });

  it('prints milliseconds with sensible precision', () => {
    expect(ms(0.4234)).toBe('0.42');
    expect(ms(7.14)).toBe('7.1');
    expect(ms(1204.4)).toBe('1,204');
    expect(ms(Number.NaN)).toBe('-');
  });
});
