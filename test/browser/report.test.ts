/**
 * The demo's HTML report in a real browser (Debian's Chromium, headless, driven by
 * playwright-core): it renders offline, its charts have lines, and the findings table shows the
 * injected regression first, as the root cause of the slower keys listed under it, with X-Ray
 * console links. A full-page screenshot is kept in test-results/.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..');
const cli = join(repo, 'bin', 'tracelake.js');
const INJECTED = 'orders-api > DynamoDB Query orders';
const CHROMIUM = '/usr/bin/chromium';

/** Number of points in each subpath of an SVG path's `d` (only M and L commands are drawn). */
function runs(d: string): number[] {
  return d
    .split('M')
    .filter((r) => r.trim() !== '')
    .map((r) => r.split('L').length);
}

describe('the demo report in Chromium', () => {
  let work: string;
  let browser: Browser;
  let page: Page;
  const outside: string[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    // Prepare: a two-hour demo with a fixed start; it writes demo/report.html.
    work = mkdtempSync(join(tmpdir(), 'tracelake-browser-'));
    await run(
      process.execPath,
      [
        cli,
        'demo',
        '--dir',
        'demo',
        '--hours',
        '2',
        '--rps',
        '1',
        '--seed',
        '7',
        '--start',
        '2026-03-02T09:00:00Z',
        '--quiet',
      ],
      { cwd: work, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    // The page must need nothing but itself: any other request is recorded and refused.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      outside.push(url);
      return route.abort();
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(pathToFileURL(join(work, 'demo', 'report.html')).href, { waitUntil: 'load' });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('loads without requests to anywhere else and without errors', () => {
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('draws every chart with lines of at least two points, visibly sized', async () => {
    const charts = await page.$$('svg.chart');
    expect(charts.length).toBeGreaterThanOrEqual(3);
    for (const chart of charts) {
      const label = await chart.getAttribute('aria-label');
      const box = await chart.boundingBox();
      expect(box?.width, label ?? '').toBeGreaterThan(200);
      expect(box?.height, label ?? '').toBeGreaterThan(100);
      const ds = await chart.$$eval('path.series', (paths) => paths.map((p) => p.getAttribute('d') ?? ''));
      expect(ds.length, `${label}: no line`).toBeGreaterThan(0);
      const longest = Math.max(...ds.flatMap(runs));
      expect(longest, `${label}: an empty chart`).toBeGreaterThanOrEqual(2);
      // The drawn line has a real extent in the page, not a degenerate point.
      const extent = await chart.$eval(
        'path.series', // No DOM types in this project; getBBox is the SVG geometry API.
        (p) => (p as unknown as { getBBox(): { width: number } }).getBBox().width,
      );
      expect(extent, label ?? '').toBeGreaterThan(50);
    }
  });

  it('charts the injected key first, with its onset marked', async () => {
    const first = await page.$eval('#degraded figure', (f) => f.getAttribute('data-chart-key'));
    expect(first).toBe(INJECTED);
    const marker = page.locator(`figure[data-chart-key="${INJECTED}"] svg .marker-label`).first();
    await expect(marker.textContent()).resolves.toMatch(
      /^onset 10:(0\d|1\d) · p\d\d ×\d\.\d\d(, p\d\d ×\d\.\d\d)*$/,
    );
  });

  it('lists the injected regression in the findings table with ratio, p-value, onset and console links', async () => {
    const rows = page.locator(`#findings tbody tr[data-key="${INJECTED}"]`);
    expect(await rows.count()).toBeGreaterThanOrEqual(1);
    const row = rows.first();
    expect(await row.locator('td.ratio').textContent()).toMatch(/^×[2-9]\.\d\d$/);
    expect(await row.locator('td.since').textContent()).toMatch(/^2026-03-02 10:(0\d|1\d) UTC$/);
    const links = await row
      .locator('a.trace')
      .evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
    expect(links.length).toBeGreaterThan(0);
    for (const href of links) {
      expect(href).toMatch(
        /^https:\/\/us-east-1\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=us-east-1#xray:traces\/1-[0-9a-f]{8}-[0-9a-f]{24}$/,
      );
    }
  });

  it('lists the injected root cause first and the keys slower because of it under it', async () => {
    const first = page.locator('#findings tbody tr[data-key]').first();
    expect(await first.getAttribute('data-key')).toBe(INJECTED);
    expect(await first.getAttribute('class')).toBeNull();
    expect(await first.locator('td.key').textContent()).toMatch(/root cause: explains \d+ keys?/);
    const consequences = page.locator('#findings tr.consequence');
    expect(await consequences.count()).toBeGreaterThan(0);
    const causes = await consequences.evaluateAll((rows) =>
      rows.map((r) => r.getAttribute('data-explained-by')),
    );
    expect(new Set(causes)).toEqual(new Set([INJECTED]));
    expect(await consequences.first().locator('td.key').textContent()).toContain(
      `slower because of ${INJECTED}`,
    );
    // Every consequence sits under its root cause, after the root cause's own rows.
    const order = await page
      .locator('#findings tbody tr[data-key]')
      .evaluateAll((rows) => rows.map((r) => r.classList.contains('consequence')));
    expect(order.indexOf(true)).toBeGreaterThan(0);
    expect(order.slice(order.indexOf(true)).every((c) => c)).toBe(true);
    const keys = new Set(
      await page
        .locator('#findings tbody tr[data-key]')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key'))),
    ).size;
    expect(await page.locator('#finding-count').textContent()).toBe(
      `1root cause (${keys} keys with findings)`,
    );
  });

  it('charts consequences after the root cause, each naming it', async () => {
    const charts = await page.$$eval('#degraded figure', (fs) =>
      fs.map((f) => ({
        key: f.getAttribute('data-chart-key'),
        because: f.querySelector('.because')?.textContent ?? null,
      })),
    );
    expect(charts[0]).toEqual({ key: INJECTED, because: null });
    const named = charts.filter((c) => c.because !== null);
    expect(named.length).toBeGreaterThan(0);
    for (const c of named) expect(c.because).toBe(`slower because of ${INJECTED}`);
  });

  it('shows where time goes per service and the error rates', async () => {
    expect(await page.locator('#time-source').getAttribute('data-source')).toBe('spans');
    expect(await page.locator('#time .service svg.bars rect.bar').count()).toBeGreaterThan(5);
    expect(await page.locator('svg[data-chart="rates"] path.series').count()).toBe(3);
    expect(await page.locator('#rates tbody tr').count()).toBeGreaterThan(0);
  });

  it('saves a full-page screenshot', async () => {
    const dir = join(repo, 'test-results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'report.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(50_000);
  });
});
