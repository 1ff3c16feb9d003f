/**
 * Where and why a JSON text fails to parse, independent of the engine's error wording (V8 gives
 * a position for some errors and only a snippet for others). Used only after `JSON.parse` has
 * already failed, so it favours clear messages over speed.
 */

export interface JsonSyntaxProblem {
  /** 0-based character offset of the problem. */
  readonly offset: number;
  /** 1-based line and column of the problem. */
  readonly line: number;
  readonly column: number;
  /** What is wrong, e.g. `expected ',' or '}' after a property value, found '"'`. */
  readonly message: string;
}

type Frame = { kind: 'object' | 'array'; state: 'start' | 'key' | 'colon' | 'value' | 'comma' };

/**
 * Finds the first syntax error in `text`, or returns null when `text` is one valid JSON value.
 *
 * @example
 * locateJsonError('{\n  "a": 1,\n}')
 * // => { offset: 12, line: 3, column: 1, message: "expected a double-quoted property name, found '}' (a trailing comma?)" }
 */
export function locateJsonError(text: string): JsonSyntaxProblem | null {
  let i = 0;
  const n = text.length;
  const stack: Frame[] = [];
  const problem = (offset: number, message: string): JsonSyntaxProblem => ({
    offset,
    ...lineColumn(text, offset),
    message,
  });
  const skipWs = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || (i === 0 && c === 0xfeff)) i++;
      else break;
    }
  };
  /** Scans a string at `i` (which must be `"`); returns an error message or null. */
  const scanString = (): string | null => {
    i++;
    while (i < n) {
      const c = text[i];
      if (c === '"') {
        i++;
        return null;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            i++;
            return 'bad \\u escape in a string';
          }
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          i++;
          return `bad escape ${found(text, i)} in a string`;
        }
        continue;
      }
      if (text.charCodeAt(i) < 0x20) return 'unescaped control character (a raw line break?) inside a string';
      i++;
    }
    return 'unterminated string (the document is cut short)';
  };
  /** Scans a scalar or opens a container; returns an error message or null. */
  const scanValue = (): string | null => {
    const c = text[i];
    if (c === undefined) return 'unexpected end of input (the document is cut short)';
    if (c === '{') {
      stack.push({ kind: 'object', state: 'start' });
      i++;
      return null;
    }
    if (c === '[') {
      stack.push({ kind: 'array', state: 'start' });
      i++;
      return null;
    }
    if (c === '"') return scanString();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return null;
      }
    }
    const num = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (num && num[0].length > 0 && num[0] !== '-') {
      i += num[0].length;
      return null;
    }
    return `expected a value, found ${found(text, i)}`;
  };

  skipWs();
  let err = scanValue();
  if (err) return problem(i, err);
  for (;;) {
    skipWs();
    const top = stack[stack.length - 1];
    if (!top) break;
    const c = text[i];
    if (c === undefined) return problem(i, 'unexpected end of input (the document is cut short)');
    if (top.kind === 'array') {
      if (top.state === 'start' && c === ']') {
        stack.pop();
        i++;
        continue;
      }
      if (top.state === 'start' || top.state === 'comma') {
        if (c === ']') return problem(i, `expected a value, found ']' (a trailing comma?)`);
        top.state = 'value';
        err = scanValue();
        if (err) return problem(i, err);
        continue;
      }
      if (c === ',') {
        top.state = 'comma';
        i++;
      } else if (c === ']') {
        stack.pop();
        i++;
      } else return problem(i, `expected ',' or ']' after an array element, found ${found(text, i)}`);
      continue;
    }
    // object
    if (top.state === 'start' || top.state === 'comma') {
      if (c === '}' && top.state === 'start') {
        stack.pop();
        i++;
        continue;
      }
      if (c !== '"') {
        const hint = c === '}' ? ' (a trailing comma?)' : '';
        return problem(i, `expected a double-quoted property name, found ${found(text, i)}${hint}`);
      }
      err = scanString();
      if (err) return problem(i, err);
      top.state = 'key';
      continue;
    }
    if (top.state === 'key') {
      if (c !== ':') return problem(i, `expected ':' after a property name, found ${found(text, i)}`);
      i++;
      top.state = 'colon';
      continue;
    }
    if (top.state === 'colon') {
      top.state = 'value';
      err = scanValue();
      if (err) return problem(i, err);
      continue;
    }
    if (c === ',') {
      top.state = 'comma';
      i++;
    } else if (c === '}') {
      stack.pop();
      i++;
    } else return problem(i, `expected ',' or '}' after a property value, found ${found(text, i)}`);
  }
  skipWs();
  if (i < n)
    return problem(
      i,
      `unexpected ${found(text, i)} after the end of the JSON value (a fragment, or two documents in one?)`,
    );
  return null;
}

/**
 * 1-based line and column of a character offset.
 *
 * @example lineColumn('ab\ncd', 4) // => { line: 2, column: 2 }
 */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let k = 0; k < end; k++) {
    if (text.charCodeAt(k) === 0x0a) {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

function found(text: string, at: number): string {
  const c = text[at];
  if (c === undefined) return 'the end of the input';
  if (c === '\u201c' || c === '\u201d') return `a typographic quote ${c} (use a straight ")`;
  if (c === '\u2018' || c === '\u2019' || c === "'") return `a single quote ${c} (JSON needs double quotes)`;
  if (c === '\n') return 'a line break';
  return `'${c}'`;
}
