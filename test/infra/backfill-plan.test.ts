/**
 * Runs the backfill state machine's own JSONata (taken from the synthesized template) with the
 * jsonata library, from the execution input up to the Distributed Map's items and the payload
 * each window worker receives, which the worker's own event parser must accept.
 */
import jsonata from 'jsonata';
import { afterAll, describe, expect, it } from 'vitest';
import { parseWorkerEvent } from '../../functions/window-worker/handler.js';
import { ofType, render, synthesize } from './synth.js';

const synth = synthesize({}, { nag: false });
afterAll(() => synth.cleanup());

interface State {
  Type: string;
  Next?: string;
  Default?: string;
  Choices?: { Condition: string; Next: string }[];
  Output?: unknown;
  Items?: string;
  Error?: string;
  ItemProcessor?: { StartAt: string; States: Record<string, State> };
  Arguments?: Record<string, unknown>;
}

const [, machine] = ofType(synth.json, 'AWS::StepFunctions::StateMachine')[0]!;
const definition = JSON.parse(render(machine.Properties!.DefinitionString)) as {
  StartAt: string;
  States: Record<string, State>;
};

/**
 * Step Functions adds `$range(start, end, step)` to JSONata (end inclusive, as its documentation
 * shows: `$range(0, 10, 2)` is `[0, 2, 4, 6, 8, 10]`); the jsonata library does not have it.
 */
function range(start: number, end: number, step = 1): number[] {
  const out: number[] = [];
  for (let v = start; step > 0 ? v <= end : v >= end; v += step) out.push(v);
  return out;
}

async function evaluate(template: unknown, input: unknown, result?: unknown): Promise<unknown> {
  if (typeof template === 'string') {
    const m = /^\{%([\s\S]*)%\}$/.exec(template);
    if (!m) return template;
    const expr = jsonata(m[1]!);
    expr.registerFunction('range', range, '<nnn?:a<n>>');
    const value: unknown = await expr.evaluate({}, { states: { input, result } });
    // Step Functions passes JSON between states; this also drops jsonata's sequence markers.
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  }
  if (template && typeof template === 'object' && !Array.isArray(template)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(template)) out[k] = await evaluate(v, input, result);
    return out;
  }
  return template;
}

/** Follows the states from the start until the Map or a Fail; returns the path and what the Map would run. */
async function run(
  input: unknown,
): Promise<{ path: string[]; error?: string; items?: unknown[]; planned?: unknown }> {
  const path: string[] = [];
  let name = definition.StartAt;
  let current = input;
  let planned: unknown;
  for (;;) {
    const state = definition.States[name]!;
    path.push(name);
    if (state.Type === 'Fail') return { path, error: state.Error };
    if (state.Type === 'Choice') {
      let next = state.Default!;
      for (const choice of state.Choices ?? []) {
        if ((await evaluate(choice.Condition, current)) === true) {
          next = choice.Next;
          break;
        }
      }
      name = next;
      continue;
    }
    if (state.Type === 'Pass') {
      current = await evaluate(state.Output, current);
      planned = current;
      name = state.Next!;
      continue;
    }
    if (state.Type === 'Map') {
      const items = (await evaluate(state.Items, current)) as unknown[];
      return { path, items, planned };
    }
    throw new Error(`unexpected state ${name} (${state.Type})`);
  }
}

const processor = Object.values(definition.States).find((s) => s.Type === 'Map')!.ItemProcessor!;
const task = processor.States[processor.StartAt]!;
const mapState = Object.values(definition.States).find((s) => s.Type === 'Map')!;

describe('backfill plan', () => {
  it('splits a range into one-hour chunks of whole windows', async () => {
    const r = await run({ from: '2026-01-01T00:00:00Z', to: '2026-01-01T03:00:00Z' });
    expect(r.path).toEqual(['CheckInput', 'Plan', 'CheckSize', 'Chunks']);
    expect(r.items).toEqual([
      { from: '2026-01-01T00:00:00.000Z', to: '2026-01-01T01:00:00.000Z' },
      { from: '2026-01-01T01:00:00.000Z', to: '2026-01-01T02:00:00.000Z' },
      { from: '2026-01-01T02:00:00.000Z', to: '2026-01-01T03:00:00.000Z' },
    ]);
  });

  it('widens an unaligned range to whole windows and clips the last chunk', async () => {
    const r = await run({ from: '2026-01-01T00:07:30Z', to: '2026-01-01T02:31:00+00:00' });
    expect(r.planned).toMatchObject({
      from: '2026-01-01T00:05:00.000Z',
      to: '2026-01-01T02:35:00.000Z',
      chunks: 3,
    });
    expect(r.items).toEqual([
      { from: '2026-01-01T00:05:00.000Z', to: '2026-01-01T01:05:00.000Z' },
      { from: '2026-01-01T01:05:00.000Z', to: '2026-01-01T02:05:00.000Z' },
      { from: '2026-01-01T02:05:00.000Z', to: '2026-01-01T02:35:00.000Z' },
    ]);
  });

  it('covers a 30-day range (all X-Ray keeps) exactly, with chunks that meet end to end', async () => {
    const r = await run({ from: '2026-01-01', to: '2026-01-31' });
    const items = r.items as { from: string; to: string }[];
    expect(items).toHaveLength(720);
    expect(items[0]!.from).toBe('2026-01-01T00:00:00.000Z');
    expect(items.at(-1)!.to).toBe('2026-01-31T00:00:00.000Z');
    for (let i = 1; i < items.length; i++) expect(items[i]!.from).toBe(items[i - 1]!.to);
    // The Map's item list must stay well inside the 256 KiB state payload limit.
    expect(JSON.stringify(items).length).toBeLessThan(128 * 1024);
  });

  it('fails clearly on bad input, an empty range and a range too large for one execution', async () => {
    expect((await run({ from: 'yesterday', to: '2026-01-01T00:00:00Z' })).error).toBe('Tracelake.BadInput');
    expect((await run({ from: '2026-01-01T00:00:00Z' })).error).toBe('Tracelake.BadInput');
    expect((await run({ from: 1767225600000, to: 1767229200000 })).error).toBe('Tracelake.BadInput');
    expect((await run({ from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' })).error).toBe(
      'Tracelake.EmptyRange',
    );
    expect((await run({ from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' })).error).toBe(
      'Tracelake.EmptyRange',
    );
    const big = await run({ from: '2025-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' });
    expect(big.path).toEqual(['CheckInput', 'Plan', 'CheckSize', 'RangeTooLarge']);
    expect(big.error).toBe('Tracelake.RangeTooLarge');
  });
});

describe('window worker invocation', () => {
  it('sends each chunk as the { from, to } event the worker parses, covering the chunk exactly', async () => {
    const r = await run({ from: '2026-01-01T00:07:30Z', to: '2026-01-01T02:31:00Z' });
    for (const item of r.items as { from: string; to: string }[]) {
      const args = (await evaluate(task.Arguments, item)) as { Payload: unknown };
      expect(args.Payload).toEqual(item);
      expect(parseWorkerEvent(args.Payload, 300_000)).toEqual({
        fromMs: Date.parse(item.from),
        toMs: Date.parse(item.to),
      });
    }
  });

  it('keeps only counts from each worker and totals them for the execution', async () => {
    const item = { from: '2026-01-01T00:00:00.000Z', to: '2026-01-01T01:00:00.000Z' };
    const payload = {
      windows: [
        { windowStart: '2026-01-01T00:00:00.000Z', traces: 3, spans: 30, rejected: 0, findings: 1 },
        { windowStart: '2026-01-01T00:05:00.000Z', traces: 2, spans: 12, rejected: 1, findings: 0 },
      ],
    };
    const one = await evaluate(task.Output, item, { Payload: payload });
    expect(one).toEqual({ from: item.from, windows: 2, traces: 5, findings: 1 });
    const empty = (await evaluate(task.Output, item, { Payload: { windows: [] } })) as Record<
      string,
      unknown
    >;
    expect(empty.windows).toBe(0);
    const total = await evaluate(mapState.Output, {}, [
      one,
      { from: 'x', windows: 12, traces: 40, findings: 0 },
    ]);
    expect(total).toEqual({ chunks: 2, windows: 14, traces: 45, findings: 1 });
  });
});
