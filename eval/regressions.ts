/**
 * Evaluation of regression detection on generated traffic: `npm run eval:regressions`.
 *
 * Per key and 5-minute window it draws latencies from a known distribution straight into a
 * DDSketch (no traces: fast), with daily seasonality, per-window noise, traffic bursts, rare keys
 * and daily one-hour slow periods; then injects step regressions (+10/25/50/100 % on the whole
 * distribution, or on the values above p95 only so that p99 alone moves) and slow drifts
 * (+5 %/h), runs the real detector (`detectRegressions`, state in an in-memory object store) hour
 * by hour, and prints recall per size, false findings per 10,000 key-windows, detection delay and
 * onset error — next to a naive static rule (p99 > 1.2 × mean p99 of the previous 12 windows)
 * scored on the same data.
 *
 * Options: --seed N (default 1), --days N test days after 2 warm-up days (default 1), --quick.
 */
import type { RegressionRow, StatsRow } from '../lib/core/model.js';
import type { ObjectStore } from '../lib/core/ports.js';
import { type RegressionConfig, resolveRegressionConfig } from '../lib/core/regress/config.js';
import type { Gate, TestDiagnostic } from '../lib/core/regress/detector.js';
import { seededRandom } from '../lib/core/regress/stats.js';
import { DDSketch } from '../lib/core/stats/ddsketch.js';
import { detectRegressions } from '../lib/pipeline/regressions.js';

const WINDOW_MS = 300_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const WARMUP_DAYS = 2;
const START = Date.UTC(2026, 0, 5);
const STEP_SIZES = [0.1, 0.25, 0.5, 1.0] as const;
const STEP_SHAPES = ['p50', 'p99'] as const;
const STEP_WINDOWS = 12;
/** After a step ends, findings in these windows are counted apart as after-effects. */
const AFTER_EFFECT_WINDOWS = 24;
const DRIFT_PER_HOUR = 0.05;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) ? v : fallback;
}

const overrides: Partial<Record<keyof RegressionConfig, number>> = {};
for (let i = 0; i < process.argv.length; i++) {
  if (process.argv[i] !== '--set') continue;
  const [name, value] = (process.argv[i + 1] ?? '').split('=');
  overrides[name as keyof RegressionConfig] = Number(value);
}
const config = resolveRegressionConfig(overrides);
const seed = arg('seed', 1);
const testDays = arg('days', 1);
const quick = process.argv.includes('--quick');
const debug = process.argv.includes('--debug');
const random = seededRandom(seed);
let spare: number | null = null;
function normal(): number {
  if (spare !== null) {
    const v = spare;
    spare = null;
    return v;
  }
  let u = 0;
  while (u === 0) u = random();
  const r = Math.sqrt(-2 * Math.log(u));
  const a = 2 * Math.PI * random();
  spare = r * Math.sin(a);
  return r * Math.cos(a);
}
function poisson(mean: number): number {
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal()));
  const l = Math.exp(-mean);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= random();
  } while (p > l);
  return k - 1;
}
const uniform = (a: number, b: number) => a + (b - a) * random();

type Role = 'null' | 'daily-event' | 'step' | 'drift' | 'rare-null' | 'rare-step';

interface StepTrial {
  readonly start: number;
  readonly size: number;
  readonly shape: (typeof STEP_SHAPES)[number];
  readonly newVersion: boolean;
  /** The service.version shipped with the step (when newVersion), unique per trial. */
  readonly version: string;
}

interface Key {
  readonly name: string;
  readonly role: Role;
  /** Mean requests per window at the daily average. */
  readonly rate: number;
  readonly medianMs: number;
  readonly sigma: number;
  readonly tailShare: number;
  readonly tailFactor: number;
  /** Body+tail p95 over the median, for "p99 only" regressions. */
  p95OverMedian: number;
  /** p99 over the median: the largest percentile moved, for the practical floor of a trial. */
  p99OverMedian: number;
  readonly latencyAmplitude: number;
  readonly trafficAmplitude: number;
  readonly phase: number;
  readonly dailyEventHour: number;
  readonly steps: StepTrial[];
  driftStart: number | null;
  burstLeft: number;
}

const testStart = START + WARMUP_DAYS * DAY_MS;
const end = testStart + testDays * DAY_MS;
const roleCounts: Record<Role, number> = quick
  ? { null: 10, 'daily-event': 4, step: 16, drift: 4, 'rare-null': 6, 'rare-step': 4 }
  : { null: 40, 'daily-event': 10, step: 80, drift: 20, 'rare-null': 20, 'rare-step': 20 };

const keys: Key[] = [];
let trialCounter = 0;
for (const role of Object.keys(roleCounts) as Role[]) {
  for (let i = 0; i < roleCounts[role]; i++) {
    const rare = role.startsWith('rare');
    const seasonal = random() < 0.6;
    const key: Key = {
      name: `svc${keys.length % 7} > ${role}-${i}`,
      role,
      // Busy keys keep >= 100 samples a window at the daily trough.
      rate: rare ? uniform(2, 40) : uniform(170, 900),
      medianMs: Math.exp(uniform(Math.log(2), Math.log(300))),
      sigma: uniform(0.25, 0.6),
      tailShare: uniform(0.03, 0.08),
      tailFactor: uniform(2, 5),
      p95OverMedian: 0,
      p99OverMedian: 0,
      latencyAmplitude: seasonal ? uniform(0.05, 0.25) : 0,
      trafficAmplitude: uniform(0.1, 0.4),
      phase: uniform(0, DAY_MS),
      dailyEventHour: Math.floor(uniform(0, 24)),
      steps: [],
      driftStart: null,
      burstLeft: 0,
    };
    [key.p95OverMedian, key.p99OverMedian] = tailRatios(key);
    if (role === 'step' || role === 'rare-step') {
      for (let day = 0; day < testDays; day++) {
        for (let slot = 0; slot < 6; slot++) {
          const combo = trialCounter++ % (STEP_SIZES.length * STEP_SHAPES.length);
          const start =
            testStart + day * DAY_MS + (slot * 4 + 1) * HOUR_MS + Math.floor(uniform(0, 12)) * WINDOW_MS;
          key.steps.push({
            start,
            size: STEP_SIZES[combo % STEP_SIZES.length]!,
            shape: STEP_SHAPES[Math.floor(combo / STEP_SIZES.length)]!,
            newVersion: random() < 0.5,
            version: `2.${trialCounter}.0`,
          });
        }
      }
    }
    if (role === 'drift') key.driftStart = testStart + Math.floor(uniform(1, 12 * testDays)) * HOUR_MS;
    keys.push(key);
  }
}

function tailRatios(key: Key): [number, number] {
  const s = new DDSketch();
  for (let i = 0; i < 20_000; i++) s.add(baseSample(key, 1));
  return [s.quantile(0.95) / s.quantile(0.5), s.quantile(0.99) / s.quantile(0.5)];
}

/** A change the detector is meant to find: at least minRatio, and at least minDeltaMs on p99. */
function eligible(key: Key, size: number): boolean {
  return 1 + size >= config.minRatio - 1e-9 && key.p99OverMedian * key.medianMs * size >= config.minDeltaMs;
}

function baseSample(key: Key, scale: number): number {
  let v = scale * Math.exp(key.sigma * normal());
  if (random() < key.tailShare) v *= key.tailFactor * uniform(0.7, 1.3);
  return v;
}

function activeStep(key: Key, t: number): StepTrial | null {
  for (const s of key.steps) if (t >= s.start && t < s.start + STEP_WINDOWS * WINDOW_MS) return s;
  return null;
}

const traceId = (k: number, t: number, i: number) =>
  `1-${Math.floor(t / 1000)
    .toString(16)
    .padStart(8, '0')}-${k.toString(16).padStart(12, '0')}${i.toString(16).padStart(12, '0')}`;

/** One key's row of one window, and the window's true p99 multiplier for the naive rule's scoring. */
function generate(k: number, t: number): StatsRow | null {
  const key = keys[k]!;
  const dayPhase = (2 * Math.PI * (t - key.phase)) / DAY_MS;
  let traffic = key.rate * (1 + key.trafficAmplitude * Math.sin(dayPhase));
  let scale = key.medianMs * (1 + key.latencyAmplitude * Math.sin(dayPhase));
  scale *= Math.exp(0.03 * normal());
  if (key.burstLeft > 0) {
    key.burstLeft--;
    traffic *= 5;
    scale *= 1.08;
  } else if (random() < 0.004) {
    key.burstLeft = Math.floor(uniform(0, 3));
    traffic *= 5;
    scale *= 1.08;
  }
  if (key.role === 'daily-event' && new Date(t).getUTCHours() === key.dailyEventHour) scale *= 1.4;
  if (key.driftStart !== null && t >= key.driftStart)
    scale *= (1 + DRIFT_PER_HOUR) ** ((t - key.driftStart) / HOUR_MS);
  const step = activeStep(key, t);
  const n = poisson(traffic);
  if (n === 0) return null;
  const sketch = new DDSketch();
  const threshold = key.p95OverMedian * scale;
  const exemplars: { id: string; v: number }[] = [];
  for (let i = 0; i < n; i++) {
    let v = baseSample(key, scale);
    if (step?.shape === 'p50') v *= 1 + step.size;
    else if (step?.shape === 'p99' && v > threshold) v *= 1 + step.size;
    sketch.add(v);
    if (exemplars.length < 5 || v > exemplars[4]!.v) {
      exemplars.push({ id: traceId(k, t, i), v });
      exemplars.sort((a, b) => b.v - a.v);
      if (exemplars.length > 5) exemplars.pop();
    }
  }
  const version = step?.newVersion && step.shape === 'p50' ? step.version : '1.0.0';
  const q = (x: number) => sketch.quantile(x);
  return {
    window_start: t,
    window_end: t + WINDOW_MS,
    key: key.name,
    kind: 'subsegment',
    service: key.name.split(' > ')[0]!,
    name: key.name.split(' > ')[1]!,
    namespace: 'remote',
    aws_operation: null,
    aws_resource: null,
    origin: null,
    count: sketch.count,
    error_count: 0,
    fault_count: 0,
    throttle_count: 0,
    min_ms: sketch.min,
    mean_ms: sketch.sum / sketch.count,
    p50_ms: q(0.5),
    p90_ms: q(0.9),
    p95_ms: q(0.95),
    p99_ms: q(0.99),
    p999_ms: q(0.999),
    max_ms: sketch.max,
    self_p50_ms: q(0.5),
    self_p99_ms: q(0.99),
    sketch: sketch.encode(),
    self_sketch: new Uint8Array(0),
    exemplar_trace_ids: exemplars.map((e) => e.id),
    service_versions: [version],
  };
}

class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, Uint8Array>();
  describe() {
    return 'memory://eval';
  }
  async put(key: string, body: Uint8Array) {
    this.objects.set(key, body.slice());
  }
  async get(key: string) {
    return this.objects.get(key) ?? null;
  }
  async list(prefix: string) {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async delete(keys: readonly string[]) {
    for (const k of keys) this.objects.delete(k);
  }
}

// ---- run -------------------------------------------------------------------------------------------
const started = Date.now();
/** With --debug: every test made on a step key during its step, by key index and window. */
const diagnostics = keys.map(() => new Map<number, TestDiagnostic[]>());
const diagnosticKey = new Map(keys.map((k, i) => [k.name, i]));
const observe = (d: TestDiagnostic) => {
  const k = diagnosticKey.get(d.key);
  if (k === undefined || d.windowStart < testStart) return;
  const role = keys[k]!.role;
  if (role !== 'step' && role !== 'null') return;
  const list = diagnostics[k]!.get(d.windowStart) ?? [];
  list.push(d);
  diagnostics[k]!.set(d.windowStart, list);
};
const store = new MemoryStore();
const findings: RegressionRow[] = [];
/** Per key: window start → p99, for the naive rule. */
const p99Series = keys.map(() => new Map<number, number>());
const naiveFlags = keys.map(() => new Set<number>());
let generateMs = 0;
let detectMs = 0;
let keyWindows = 0;
for (let hour = START; hour < end; hour += HOUR_MS) {
  const g0 = Date.now();
  const windows: { windowStart: number; windowMs: number; rows: StatsRow[] }[] = [];
  for (let t = hour; t < hour + HOUR_MS; t += WINDOW_MS) {
    const rows: StatsRow[] = [];
    for (let k = 0; k < keys.length; k++) {
      const row = generate(k, t);
      if (!row) continue;
      rows.push(row);
      keyWindows++;
      const series = p99Series[k]!;
      let sum = 0;
      let n = 0;
      for (let j = 1; j <= 12; j++) {
        const v = series.get(t - j * WINDOW_MS);
        if (v !== undefined) {
          sum += v;
          n++;
        }
      }
      if (n > 0 && row.p99_ms > (1.2 * sum) / n) naiveFlags[k]!.add(t);
      series.set(t, row.p99_ms);
      series.delete(t - 13 * WINDOW_MS);
    }
    windows.push({ windowStart: t, windowMs: WINDOW_MS, rows });
  }
  const d0 = Date.now();
  generateMs += d0 - g0;
  findings.push(...(await detectRegressions(store, windows, overrides, debug ? { observe } : {})));
  detectMs += Date.now() - d0;
}

// ---- score -----------------------------------------------------------------------------------------
const keyIndex = new Map(keys.map((k, i) => [k.name, i]));
const flagged = keys.map(() => new Map<number, RegressionRow[]>());
for (const f of findings) {
  const k = keyIndex.get(f.key)!;
  const list = flagged[k]!.get(f.window_start) ?? [];
  list.push(f);
  flagged[k]!.set(f.window_start, list);
}

type Outcome = { delay: number | null; onsetError: number | null; versionNamed: boolean | null };
const testWindows: number[] = [];
for (let t = testStart; t < end; t += WINDOW_MS) testWindows.push(t);

/** Where no injected change is active or just ended: a finding there is a false one. */
function windowClass(key: Key, t: number): 'clean' | 'injected' | 'after' {
  if (key.driftStart !== null && t >= key.driftStart) return 'injected';
  for (const s of key.steps) {
    const stepEnd = s.start + STEP_WINDOWS * WINDOW_MS;
    if (t >= s.start && t < stepEnd) return 'injected';
    if (t >= stepEnd && t < stepEnd + AFTER_EFFECT_WINDOWS * WINDOW_MS) return 'after';
  }
  return 'clean';
}

function stepOutcome(k: number, s: StepTrial, naive: boolean): Outcome {
  for (let j = 0; j < STEP_WINDOWS; j++) {
    const t = s.start + j * WINDOW_MS;
    if (naive) {
      if (naiveFlags[k]!.has(t)) return { delay: j, onsetError: null, versionNamed: null };
      continue;
    }
    const list = flagged[k]!.get(t);
    if (!list) continue;
    const f = list.find((x) => x.kind === 'step') ?? list[0]!;
    return {
      delay: j,
      onsetError: Math.round((f.since - s.start) / WINDOW_MS),
      versionNamed: s.newVersion && s.shape === 'p50' ? list.some((x) => x.new_version === s.version) : null,
    };
  }
  return { delay: null, onsetError: null, versionNamed: null };
}

const pct = (a: number, b: number) => (b === 0 ? 'n/a' : `${((100 * a) / b).toFixed(1)} %`);
const lines: string[] = [];
const out = (s = '') => lines.push(s);

out(
  `keys: ${keys.length} (${Object.entries(roleCounts)
    .map(([r, n]) => `${n} ${r}`)
    .join(', ')}); ${WARMUP_DAYS} warm-up days + ${testDays} test day(s); seed ${seed}`,
);
out(`key-windows generated: ${keyWindows}; findings: ${findings.length}`);
out();

for (const naive of [false, true]) {
  out(
    naive
      ? '## Naive rule: p99 > 1.2 x mean p99 of the previous 12 windows'
      : '## tracelake detector (defaults)',
  );
  out();
  out(
    '| shape | size | keys | trials | recall, all trials | eligible trials | recall, eligible | found within 2 windows, eligible | median delay (windows) |',
  );
  out('|---|---|---|---|---|---|---|---|---|');
  const onsetErrors: number[] = [];
  let versionTrials = 0;
  let versionNamed = 0;
  for (const rare of [false, true]) {
    for (const shape of STEP_SHAPES) {
      for (const size of STEP_SIZES) {
        let trials = 0;
        let found = 0;
        let fast = 0;
        let eligibleTrials = 0;
        let eligibleFound = 0;
        const delays: number[] = [];
        keys.forEach((key, k) => {
          if (key.role !== (rare ? 'rare-step' : 'step')) return;
          for (const s of key.steps) {
            if (s.shape !== shape || s.size !== size) continue;
            trials++;
            const isEligible = eligible(key, s.size);
            if (isEligible) eligibleTrials++;
            const o = stepOutcome(k, s, naive);
            if (o.delay === null) continue;
            found++;
            if (!isEligible) continue;
            eligibleFound++;
            delays.push(o.delay);
            if (o.delay <= 2) fast++;
            if (o.onsetError !== null) onsetErrors.push(o.onsetError);
            if (o.versionNamed !== null) {
              versionTrials++;
              if (o.versionNamed) versionNamed++;
            }
          }
        });
        delays.sort((a, b) => a - b);
        const med = delays.length ? String(delays[Math.floor(delays.length / 2)]) : '-';
        out(
          `| ${shape === 'p50' ? 'whole distribution' : 'above p95 only (p99)'} | +${size * 100} % | ${rare ? 'rare (2-40/window)' : '>= 100/window'} | ${trials} | ${pct(found, trials)} | ${eligibleTrials} | ${pct(eligibleFound, eligibleTrials)} | ${pct(fast, eligibleTrials)} | ${med} |`,
        );
      }
    }
  }
  out();
  // Drifts
  const driftHours: number[] = [];
  let driftKeys = 0;
  keys.forEach((key, k) => {
    if (key.driftStart === null || !eligible(key, (1 + DRIFT_PER_HOUR) ** 6 - 1)) return;
    driftKeys++;
    for (const t of testWindows) {
      if (t < key.driftStart) continue;
      const hit = naive ? naiveFlags[k]!.has(t) : flagged[k]!.has(t);
      if (hit) {
        driftHours.push((t - key.driftStart) / HOUR_MS);
        break;
      }
    }
  });
  driftHours.sort((a, b) => a - b);
  const within6 = driftHours.filter((h) => h <= 6).length;
  out(
    `Drift +${DRIFT_PER_HOUR * 100} %/h (keys where 6 h of it reach the practical floor): found on ${driftHours.length}/${driftKeys} keys, ${within6}/${driftKeys} within 6 h; ` +
      `hours to first finding: median ${driftHours.length ? driftHours[Math.floor(driftHours.length / 2)]!.toFixed(1) : '-'}, max ${driftHours.length ? driftHours.at(-1)!.toFixed(1) : '-'}`,
  );
  // False findings
  const counts = { clean: 0, after: 0, cleanNull: 0 };
  const hits = { clean: 0, after: 0, cleanNull: 0 };
  const byRole = new Map<string, number>();
  keys.forEach((key, k) => {
    for (const t of testWindows) {
      const cls = windowClass(key, t);
      if (cls === 'injected') continue;
      const hit = naive ? naiveFlags[k]!.has(t) : flagged[k]!.has(t);
      counts[cls]++;
      if (hit) {
        hits[cls]++;
        if (cls === 'clean') byRole.set(key.role, (byRole.get(key.role) ?? 0) + 1);
      }
      const neverInjected = key.steps.length === 0 && key.driftStart === null;
      if (neverInjected) {
        counts.cleanNull++;
        if (hit) hits.cleanNull++;
      }
    }
  });
  const per10k = (a: number, b: number) => (b === 0 ? 'n/a' : ((a * 10_000) / b).toFixed(2));
  out(
    `False findings (key-windows with >= 1 finding, no injected change active): ${hits.clean} in ${counts.clean} = ${per10k(hits.clean, counts.clean)} per 10,000 key-windows` +
      (byRole.size ? ` (by key type: ${[...byRole.entries()].map(([r, n]) => `${r} ${n}`).join(', ')})` : ''),
  );
  out(
    `  of which on keys never injected (incl. rare keys, daily one-hour slow periods): ${hits.cleanNull} in ${counts.cleanNull} = ${per10k(hits.cleanNull, counts.cleanNull)} per 10,000`,
  );
  out(
    `  in the 2 h after a step ended (baseline holds the slow hour): ${hits.after} in ${counts.after} = ${per10k(hits.after, counts.after)} per 10,000`,
  );
  if (!naive) {
    onsetErrors.sort((a, b) => a - b);
    const exact = onsetErrors.filter((e) => Math.abs(e) <= 1).length;
    out(
      `Onset (since - injected start, windows): median ${onsetErrors.length ? onsetErrors[Math.floor(onsetErrors.length / 2)] : '-'}, ` +
        `within +-1 window for ${pct(exact, onsetErrors.length)} of detected steps; new version named on ${versionNamed}/${versionTrials} detected steps that shipped one`,
    );
  }
  out();
}
const stateBytes = [...store.objects.values()].reduce((a, b) => a + b.length, 0);
out(
  `state: ${store.objects.size} baseline objects, ${(stateBytes / 1024).toFixed(0)} KiB (${(stateBytes / 1024 / store.objects.size).toFixed(1)} KiB per key)`,
);
out(
  `time: ${((Date.now() - started) / 1000).toFixed(1)} s (generation ${(generateMs / 1000).toFixed(1)} s, detection incl. state load/save ${(detectMs / 1000).toFixed(1)} s); ` +
    `config overrides ${JSON.stringify(overrides)}`,
);
if (debug) {
  keys.forEach((key, k) => {
    for (const t of testWindows) {
      if (windowClass(key, t) === 'injected') continue;
      for (const f of flagged[k]!.get(t) ?? [])
        out(`FALSE ${windowClass(key, t)} ${f.kind} p=${f.p_value.toExponential(2)} ${f.summary}`);
    }
    if (key.driftStart !== null && eligible(key, (1 + DRIFT_PER_HOUR) ** 6 - 1)) {
      const first = testWindows.find((t) => t >= key.driftStart! && flagged[k]!.has(t));
      const f = first === undefined ? undefined : flagged[k]!.get(first)![0]!;
      out(
        `DRIFT ${key.name} from ${new Date(key.driftStart).toISOString()} first ${first === undefined ? 'never' : `${((first - key.driftStart) / HOUR_MS).toFixed(1)} h (${f!.kind} ${f!.statistic})`} rate ${key.rate.toFixed(0)} median ${key.medianMs.toFixed(1)} sigma ${key.sigma.toFixed(2)} p99/median ${key.p99OverMedian.toFixed(2)} daily ${key.latencyAmplitude.toFixed(2)}`,
      );
    }
    for (const s of key.steps) {
      if (s.size < 0.25) continue;
      const o = stepOutcome(k, s, false);
      if (o.delay === null || o.delay > 2) {
        out(
          `MISS ${key.name} ${s.shape} +${s.size * 100}% at ${new Date(s.start).toISOString()} delay ${o.delay} rate ${key.rate.toFixed(0)} median ${key.medianMs.toFixed(1)} sigma ${key.sigma.toFixed(2)}`,
        );
        for (const statistic of ['p50', 'p90', 'p99'] as const) {
          const d = nearestTest(k, s, o.delay === null ? STEP_WINDOWS - 1 : 2, statistic);
          if (d) out(`  nearest ${describeTest(d, s)}`);
        }
      }
    }
  });
  gateTally();
  sizeTally();
}

/**
 * How the size estimates behave: on busy keys' p90/p99 tests, the band ratio and the tail
 * Hodges–Lehmann ratio (both before the daily shape) with no change (clean windows of null and step
 * keys) and once a +25 % step fills the six windows judged.
 */
function sizeTally(): void {
  out();
  out('Size estimates (before the daily shape), p10/median/p90 and share >= minRatio:');
  for (const statistic of ['p90', 'p99'] as const) {
    for (const horizon of ['short', 'long'] as const) {
      const groups = new Map<string, Map<string, number[]>>();
      const add = (name: string, d: TestDiagnostic) => {
        const g = groups.get(name) ?? new Map<string, number[]>();
        for (const estimate of ['band', 'hl']) {
          const v = d.detail[estimate];
          if (v === undefined || !Number.isFinite(v)) continue;
          const list = g.get(estimate) ?? [];
          list.push(v);
          g.set(estimate, list);
        }
        groups.set(name, g);
      };
      keys.forEach((key, k) => {
        for (const [t, list] of diagnostics[k]!) {
          const cls = windowClass(key, t);
          const step = activeStep(key, t);
          // The one window whose current side is all slow and whose baseline is all before the step.
          const full = horizon === 'short' ? 1 : 5;
          for (const d of list) {
            if (d.kind !== 'step' || d.statistic !== statistic || d.horizon !== horizon) continue;
            if (cls === 'clean') add('no change', d);
            else if (step && step.size === 0.25 && t === step.start + full * WINDOW_MS)
              add(`+25 % ${step.shape === 'p50' ? 'whole' : 'tail'}`, d);
          }
        }
      });
      for (const [name, g] of groups) {
        const summary = (v: number[]) => {
          const sorted = [...v].sort((a, b) => a - b);
          const share = v.filter((x) => x >= config.minRatio).length / v.length;
          const q = (f: number) => sorted[Math.floor(f * (sorted.length - 1))]!.toFixed(3);
          return `${q(0.1)}/${q(0.5)}/${q(0.9)} ${(100 * share).toFixed(2)} %`;
        };
        out(
          `  ${statistic} ${horizon} ${name} (${g.get('band')?.length ?? 0} tests): ${[...g]
            .map(([estimate, v]) => `${estimate} ${summary(v)}`)
            .join('; ')}`,
        );
      }
    }
  }
}

/**
 * The step test that came nearest to a finding in the step's first windows (up to `last`): the
 * fewest gates failed, then the smallest p / bar.
 */
function nearestTest(
  k: number,
  s: StepTrial,
  last: number,
  statistic?: TestDiagnostic['statistic'],
): TestDiagnostic | null {
  let best: TestDiagnostic | null = null;
  const score = (d: TestDiagnostic) => d.failed.length * 1e6 + Math.min(1e5, (d.p || 1) / (d.bar || 1));
  for (let j = 0; j <= last; j++) {
    for (const d of diagnostics[k]!.get(s.start + j * WINDOW_MS) ?? []) {
      if (d.kind !== 'step' || (statistic && d.statistic !== statistic)) continue;
      if (!best || score(d) < score(best)) best = d;
    }
  }
  return best;
}

function describeTest(d: TestDiagnostic, s: StepTrial): string {
  const j = (d.windowStart - s.start) / WINDOW_MS;
  if (d.failed.includes('samples')) return `${d.statistic} ${d.horizon} w+${j} failed=samples`;
  return (
    `${d.statistic} ${d.horizon} w+${j} failed=${d.failed.join('+') || 'none'} ratio ${d.ratio.toFixed(3)} ` +
    `delta ${(d.baselineMs * d.ratio - d.baselineMs).toFixed(1)} ms (baseline ${d.baselineMs.toFixed(1)}, current ${d.currentMs.toFixed(1)}) ` +
    `p ${d.p.toExponential(1)} bar ${d.bar.toExponential(1)} uncapped ${d.barUncapped.toExponential(1)}${d.quiet ? ' quiet' : ''} ` +
    Object.entries(d.detail)
      .map(([name, v]) => `${name} ${Number.isInteger(v) ? v : v.toPrecision(3)}`)
      .join(' ')
  );
}

/**
 * For the missed and late +25 % steps on busy keys (eligible trials): which gates stopped the test
 * that came nearest, and how many would have been found (in time) with one gate lifted.
 */
function gateTally(): void {
  out();
  out('Gate tally, +25 % steps on busy keys, eligible trials (nearest test: fewest gates failed):');
  for (const shape of STEP_SHAPES) {
    for (const late of [false, true]) {
      const sets = new Map<string, number>();
      const lifted = new Map<Gate, number>();
      const ratios: number[] = [];
      let capOnly = 0;
      let trials = 0;
      keys.forEach((key, k) => {
        if (key.role !== 'step') return;
        for (const s of key.steps) {
          if (s.shape !== shape || s.size !== 0.25 || !eligible(key, s.size)) continue;
          const o = stepOutcome(k, s, false);
          if (late ? o.delay === null || o.delay <= 2 : o.delay !== null) continue;
          trials++;
          const last = late ? 2 : STEP_WINDOWS - 1;
          const d = nearestTest(k, s, last);
          const name = d ? d.failed.join('+') || 'none' : 'no test';
          sets.set(name, (sets.get(name) ?? 0) + 1);
          if (d?.failed.length === 1 && d.failed[0] === 'ratio') ratios.push(d.ratio);
          if (d?.failed.length === 1 && d.failed[0] === 'significance' && d.p <= d.barUncapped) capOnly++;
          const gates = new Set<Gate>();
          for (let j = 0; j <= last; j++) {
            for (const t of diagnostics[k]!.get(s.start + j * WINDOW_MS) ?? [])
              if (t.kind === 'step' && t.failed.length === 1) gates.add(t.failed[0]!);
          }
          for (const g of gates) lifted.set(g, (lifted.get(g) ?? 0) + 1);
        }
      });
      const shapeName = shape === 'p50' ? 'whole distribution' : 'above p95 only';
      out(
        `  ${shapeName}, ${late ? 'found late (> 2 windows)' : 'missed'}: ${trials}; nearest test failed ${[
          ...sets,
        ]
          .sort((a, b) => b[1] - a[1])
          .map(([n, c]) => `${n} ${c}`)
          .join(', ')}`,
      );
      if (trials === 0) continue;
      out(
        `    one gate lifted would find: ${[...lifted].map(([g, c]) => `${g} ${c}`).join(', ') || 'none'}; ` +
          `significance only and under the uncapped bar: ${capOnly}; ratio-only ratios: ${ratios
            .sort((a, b) => a - b)
            .map((r) => r.toFixed(3))
            .join(' ')}`,
      );
    }
  }
}
console.log(lines.join('\n'));
