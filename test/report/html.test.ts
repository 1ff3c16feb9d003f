import { describe, expect, it } from 'vitest';
import { renderReport, xrayTraceUrl } from '../../lib/report/html.js';
import { buildReportModel } from '../../lib/report/model.js';
import { CALLER_KEY, consequenceRows, findingRows, reportInput, SLOW_KEY } from './rows.js';

describe('renderReport', () => {
  const html = renderReport(buildReportModel(reportInput()));

  it('is self-contained: no external script, style, font or image; only X-Ray console links', () => {
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).not.toMatch(/<img\b/i);
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<)]+/g)].map((m) => m[0]);
    const external = urls.filter((u) => !u.startsWith('http://www.w3.org/2000/svg'));
    expect(external.length).toBeGreaterThan(0);
    for (const u of external)
      expect(u).toMatch(
        /^https:\/\/eu-west-1\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=eu-west-1#xray:traces\/1-/,
      );
  });

  it('shows the finding in the findings table with ratio, p-value, onset and linked trace IDs', () => {
    const row = /<tr data-key="([^"]+)" data-statistic="p99">([\s\S]*?)<\/tr>/.exec(html);
    expect(row?.[1]).toBe(SLOW_KEY.replace('>', '&gt;'));
    const cells = row![2]!;
    expect(cells).toContain('×3.96');
    expect(cells).toContain('2026-03-02 10:21 UTC');
    expect(cells).toContain(
      'href="https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#xray:traces/1-69c55d10-000000000000000000000023"',
    );
  });

  it('marks the onset on the chart of the key', () => {
    const chart = new RegExp(
      `<figure class="card" data-chart-key="${SLOW_KEY.replace('>', '&gt;')}">([\\s\\S]*?)</figure>`,
    ).exec(html);
    expect(chart).not.toBeNull();
    expect(chart![1]).toContain('class="marker"');
    expect(chart![1]).toContain('onset 10:21 · p99 ×3.96');
    expect((chart![1]!.match(/class="series"/g) ?? []).length).toBe(3);
  });

  it('lists the root cause first and its consequences under it, naming it', () => {
    const out = renderReport(
      buildReportModel(reportInput({ findings: [...consequenceRows(), ...findingRows()] })),
    );
    const slow = SLOW_KEY.replace('>', '&gt;');
    const bodies = [...out.matchAll(/<tbody class="cause" data-root="([^"]+)">([\s\S]*?)<\/tbody>/g)];
    expect(bodies.map((b) => b[1])).toEqual([slow]);
    const rows = [...bodies[0]![2]!.matchAll(/<tr data-key="([^"]+)"[^>]*>([\s\S]*?)<\/tr>/g)];
    expect(rows.map((r) => r[1])).toEqual([slow, CALLER_KEY]);
    expect(rows[0]![2]).toContain('root cause: explains 1 key');
    expect(rows[0]![0]).not.toContain('consequence');
    expect(rows[1]![0]).toContain(`class="consequence" data-explained-by="${slow}"`);
    expect(rows[1]![2]).toContain(`slower because of <span class="key">${slow}</span>`);
    // Charts: the root cause first; the consequence's chart names it.
    const charts = [...out.matchAll(/<figure class="card" data-chart-key="([^"]+)">([\s\S]*?)<\/figure>/g)];
    expect(charts.slice(0, 2).map((c) => c[1])).toEqual([slow, CALLER_KEY]);
    expect(charts[1]![2]).toContain(`slower because of <span class="key">${slow}</span>`);
    expect(charts[1]![2]).toContain('class="tag consequence"');
    expect(out).toMatch(/<b id="root-cause-count">1<\/b>root cause \(2 keys with findings\)/);
  });

  it('labels where the time figures come from', () => {
    expect(html).toContain('data-source="spans"');
    const rows = reportInput().selfTime.rows;
    const approx = renderReport(buildReportModel(reportInput({ selfTime: { source: 'stats', rows } })));
    expect(approx).toContain('data-source="stats"');
    expect(approx).toContain('Approximation');
  });

  it('escapes names from the data', () => {
    const evil = '<script>alert(1)</script>';
    const input = reportInput();
    const out = renderReport(
      buildReportModel({
        ...input,
        stats: input.stats.map((r) => ({
          ...r,
          key: r.key.replace('orders-api', evil),
          service: r.service.replace('orders-api', evil),
        })),
        findings: input.findings.map((f) => ({ ...f, key: f.key.replace('orders-api', evil) })),
        selfTime: { source: 'spans', rows: input.selfTime.rows.map((r) => ({ ...r, service: evil })) },
      }),
    );
    expect(out).not.toContain(evil);
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('says so when nothing was found', () => {
    const out = renderReport(buildReportModel(reportInput({ findings: [] })));
    expect(out).toContain('id="no-findings"');
    expect(out).not.toContain('<table id="findings"');
    expect(out).toContain('<b id="root-cause-count">0</b>regressions');
  });
});

describe('xrayTraceUrl', () => {
  it('links a trace in the region given', () => {
    expect(xrayTraceUrl('ap-southeast-2', '1-5f84c7a1-0123456789abcdef01234567')).toBe(
      'https://ap-southeast-2.console.aws.amazon.com/cloudwatch/home?region=ap-southeast-2#xray:traces/1-5f84c7a1-0123456789abcdef01234567',
    );
  });
});
