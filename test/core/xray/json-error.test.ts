import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lineColumn, locateJsonError } from '../../../lib/core/xray/json-error.js';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('locateJsonError', () => {
  it.each([
    ['{\n  "a": 1,\n}', 3, 1, "expected a double-quoted property name, found '}' (a trailing comma?)"],
    ['[1, 2', 1, 6, 'unexpected end of input (the document is cut short)'],
    ['{"a" 1}', 1, 6, "expected ':' after a property name, found '1'"],
    ['{"a": "b\nc"}', 1, 9, 'unescaped control character (a raw line break?) inside a string'],
    [
      '{"a": 1} {"b": 2}',
      1,
      10,
      "unexpected '{' after the end of the JSON value (a fragment, or two documents in one?)",
    ],
    [
      "{'a': 1}",
      1,
      2,
      "expected a double-quoted property name, found a single quote ' (JSON needs double quotes)",
    ],
    [
      '{\u201ca\u201d: 1}',
      1,
      2,
      'expected a double-quoted property name, found a typographic quote \u201c (use a straight ")',
    ],
    ['[1,]', 1, 4, "expected a value, found ']' (a trailing comma?)"],
    ['"\\x"', 1, 3, "bad escape 'x' in a string"],
    ['01', 1, 2, "unexpected '1' after the end of the JSON value (a fragment, or two documents in one?)"],
    ['', 1, 1, 'unexpected end of input (the document is cut short)'],
  ])('%j: line %i, column %i', (text, line, column, message) => {
    expect(locateJsonError(text)).toMatchObject({ line, column, message });
  });

  it('agrees with JSON.parse on valid JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2), (value, indent) => {
        expect(locateJsonError(JSON.stringify(value, null, indent))).toBeNull();
      }),
    );
  });

  it('finds a problem exactly when JSON.parse fails, on mangled JSON', () => {
    fc.assert(
      fc.property(
        fc.json(),
        fc.nat(),
        fc.constantFrom('', ',', '}', ']', '"', ':', '\u201c', 'x', ' '),
        (text, at, insert) => {
          const pos = text.length === 0 ? 0 : at % text.length;
          const mangled = text.slice(0, pos) + insert + text.slice(pos + 1);
          expect(locateJsonError(mangled) === null).toBe(parses(mangled));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('lineColumn', () => {
  it('counts from 1', () => {
    expect(lineColumn('ab\ncd', 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });
});
