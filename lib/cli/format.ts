/** Terminal output: aligned tables, numbers, and colours only when writing to a TTY. */

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
  cyan(s: string): string;
}

const wrap = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;

/** Colours when `tty` is true and NO_COLOR is unset; plain text otherwise. */
export function makeStyle(tty: boolean, env: Record<string, string | undefined> = {}): Style {
  const on = tty && !env.NO_COLOR;
  const id = (s: string) => s;
  return on
    ? {
        bold: wrap(1, 22),
        dim: wrap(2, 22),
        red: wrap(31, 39),
        yellow: wrap(33, 39),
        green: wrap(32, 39),
        cyan: wrap(36, 39),
      }
    : { bold: id, dim: id, red: id, yellow: id, green: id, cyan: id };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes to measure width
const ANSI = /\u001b\[[0-9;]*m/g;

function visibleWidth(s: string): number {
  return s.replace(ANSI, '').length;
}

/** Aligns rows into columns; numeric-looking cells are right-aligned. */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  style?: Style,
): string {
  const widths = header.map((h, i) =>
    Math.max(visibleWidth(h), ...rows.map((r) => visibleWidth(r[i] ?? ''))),
  );
  const numeric = header.map(
    (_, i) =>
      rows.length > 0 &&
      rows.every((r) => /^[-+]?[\d.,]+(\s?\S{0,2})?$|^$/.test((r[i] ?? '').replace(ANSI, ''))),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => {
        const pad = ' '.repeat(Math.max(0, widths[i]! - visibleWidth(c)));
        return numeric[i] ? pad + c : c + pad;
      })
      .join('  ')
      .trimEnd();
  const head = line(header);
  return [style ? style.bold(head) : head, ...rows.map(line)].join('\n');
}

/** `12,345` */
export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Milliseconds with sensible precision: `0.42`, `7.1`, `153`, `1,204`. */
export function ms(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (n < 1) return n.toFixed(2);
  if (n < 10) return n.toFixed(1);
  return int(n);
}

/** `2026-01-01 14:05 UTC` */
export function utc(msSinceEpoch: number): string {
  return `${new Date(msSinceEpoch).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A progress line on a TTY (rewritten in place), nothing elsewhere. */
export class ProgressLine {
  private last = '';
  constructor(private readonly stream: NodeJS.WriteStream) {}
  update(text: string): void {
    if (!this.stream.isTTY) return;
    const cols = this.stream.columns || 100;
    const t = text.length >= cols ? text.slice(0, cols - 1) : text;
    this.stream.write(`\r${t}${' '.repeat(Math.max(0, this.last.length - t.length))}`);
    this.last = t;
  }
  done(): void {
    if (this.stream.isTTY && this.last) this.stream.write(`\r${' '.repeat(this.last.length)}\r`);
    this.last = '';
  }
}
