import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tdxsim, tempFile } from '../__test-helpers__/cli.js';
import { readPng } from '../__test-helpers__/png.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const SHOTS = join(process.cwd(), 'test-results', 'report');
if (CHROMIUM === undefined) {
  // Say why the browser tests are skipped (README "Set up").
  console.warn('report.browser.spec.ts: skipped: install chromium (/usr/bin/chromium) to run the HTML report tests');
}

describe('tdxsim report (CLI)', () => {
  it('writes nothing on bad input', () => {
    const out = tempFile('r.html', '');
    const r = tdxsim(['report', 'no-such-scenario', '-o', `${out}.new`]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('tdxsim: "no-such-scenario" is neither an embedded scenario nor a .json file\n');
    expect(existsSync(`${out}.new`)).toBe(false);
  });

  it('exits as run does: 1 when the verdict fails, and still writes the report', () => {
    const out = tempFile('m.html', '');
    const r = tdxsim(['report', 'default', '--kernel', 'mutant-no-kexec-wbinvd', '-o', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`wrote ${out} (${r.stderr.match(/\((\d+) bytes\)/)?.[1] ?? '?'} bytes): verdict fail (expected: none; found: seamcall-after-flush, silent-corruption)\n`);
    expect(tdxsim(['run', '--scenario', 'default', '--kernel', 'mutant-no-kexec-wbinvd']).status).toBe(1);
  });
});

describe.skipIf(CHROMIUM === undefined)('tdxsim report in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser.close();
  });

  async function open(file: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
    const context = await browser.newContext({ offline: true, viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) {
        requests.push(r.url());
      }
    });
    await page.goto(pathToFileURL(file).href);
    return { page, errors, requests };
  }

  it('a corruption: clicking a finding marks its lines on the map, its CPU and write-back on the chart', async () => {
    const out = tempFile('kexec-mutant.html', '');
    expect(tdxsim(['report', 'kexec-mutant', '-o', out]).status).toBe(0);
    const { page, errors, requests } = await open(out);
    expect(await page.title()).toBe('tdxsim report: kexec-mutant');
    expect(await page.locator('#verdict').innerText()).toBe('verdict pass (expected: seamcall-after-flush, silent-corruption; found: seamcall-after-flush, silent-corruption)');
    expect(await page.locator('#memory-map rect[data-lane="tdmr"]').count()).toBe(3);
    expect(await page.locator('#memory-map rect[data-lane="pamt"]').count()).toBe(9);
    expect(await page.locator('#memory-map rect[data-lane="crashkernel"]').count()).toBe(1);
    // The cache view opens just before the jump, with the TD's dirty lines by address and KeyID.
    expect(await page.locator('#cache-moment option:checked').innerText()).toBe('just before the jump (relocate_kernel on CPU 0) (28.083 ms)');
    const cpu1 = page.locator('#cache-table table').nth(1);
    expect(await page.locator('#cache-table h3').nth(1).innerText()).toBe('CPU 1: 4096 dirty lines');
    expect(await cpu1.locator('tr').nth(1).innerText()).toBe('17\t[0x17efa1080, 0x17efe1000)\t4094\ttd1');
    // Click the finding about CPU 1's cache.
    const finding = page.locator('#findings .finding', { hasText: '4094 lines from 0x17efa1080' });
    await finding.click();
    expect(await finding.getAttribute('class')).toBe('finding selected');
    const hl = page.locator('#memory-map rect.hl');
    expect(await hl.count()).toBe(1);
    expect([await hl.getAttribute('data-base'), await hl.getAttribute('data-end')]).toEqual(['0x17efa1080', '0x17efe1000']);
    // The map zoomed to it, and the chart marks the CPU's lane and its stale write-back.
    expect(await page.locator('#map-window').innerText()).toBe('[0x17eea1280, 0x17f0e0e00) 2.25 MiB');
    expect(await page.locator('#timeline rect.lane-bg.hl').count()).toBe(1);
    expect(await page.locator('#timeline rect.lane-bg.hl').getAttribute('data-lane-index')).toBe('1');
    // The finding's stale write-backs from CPU 1 happen at three moments (two before the TDVPS
    // association line joined CPU 1's cache: one more TD line leaves it early).
    expect(await page.locator('#timeline rect.hl-ev[data-kind="stale-writeback"]').count()).toBe(3);
    expect(await page.locator('#timeline line.finding-time').count()).toBe(1);
    // The cache view moves to the last moment the lines were still dirty, and marks them.
    expect(await page.locator('#cache-moment option:checked').innerText()).toBe('stale write-back from CPU 0 (33.123 ms)');
    expect(await page.locator('#cache-table tr.hl').allInnerTexts()).toEqual(['17\t[0x17efa1080, 0x17efe1000)\t4094\ttd1']);
    // Pixels: the highlighted range is drawn in red over the map.
    const box = await hl.boundingBox();
    expect(box).not.toBeNull();
    const shot = await page.screenshot({ path: join(SHOTS, 'corruption.png'), fullPage: true });
    const png = readPng(shot);
    const scrollY = Number(await page.evaluate('window.scrollY'));
    const [r, g, b] = png.pixel(Math.round((box?.x ?? 0) + 1), Math.round((box?.y ?? 0) + scrollY + (box?.height ?? 0) / 2));
    expect(r).toBeGreaterThan(150);
    expect(g).toBeLessThan(120);
    expect(b).toBeLessThan(120);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
  });

  it('a kexec race from explore: NMI arrow, epochs, broken axis, both schedules with the first divergence', async () => {
    const result = tempFile('race.json', '');
    expect(tdxsim(['explore', 'kexec-race-2cpu', '--out', result]).status).toBe(1);
    const out = tempFile('race.html', '');
    const r = tdxsim(['report', result, '-o', out]);
    expect(r.status).toBe(1);
    const { page, errors } = await open(out);
    expect(await page.locator('#verdict').innerText()).toBe('replay: 1 finding(s)');
    const nmi = page.locator('#timeline line.arrow[data-kind="nmi"]');
    expect(await nmi.count()).toBe(1);
    expect([await nmi.getAttribute('data-from'), await nmi.getAttribute('data-to')]).toEqual(['0', '1']);
    expect(await page.locator('#timeline-other line.arrow[data-kind="nmi"]').count()).toBe(1);
    expect(await page.locator('#timeline rect.epoch').evaluateAll((els) => els.map((e) => e.getAttribute('data-epoch')))).toEqual(['linux-6.18 (kernel#0)', 'relocate_kernel, swap_pages', 'purgatory, early boot']);
    expect(await page.locator('#timeline line.jump').count()).toBe(1);
    // The 1 s REBOOT wait is an axis break labelled with its length.
    expect(await page.locator('#timeline g.break text', { hasText: '1.00 s' }).count()).toBe(1);
    // Labels are on the chart, not only in tooltips.
    expect(await page.locator('#timeline text.ev-label', { hasText: 'send NMI to CPU 1' }).count()).toBe(1);
    expect(await page.locator('#timeline line.divergence').count()).toBe(1);
    expect(await page.locator('#timeline-other line.divergence').count()).toBe(1);
    expect(await page.locator('#divergence').innerText()).toBe(
      'first divergence at event 45: counterexample CPU 1: stop_this_cpu: run 1 at 1.029047 s; default schedule (first option at every choice, no faults) CPU 0: send NMI to CPU 1 at 1.030045 s',
    );
    // "from the kexec on" zooms to the kexec path: more of its labels fit.
    await page.locator('#tl-fit-kexec').click();
    expect(await page.locator('#timeline text.ev-label').allTextContents()).toEqual([
      'kexec: kernel_kexec',
      'send CALL_FUNCTION to CPU 1',
      'WBINVD (776 dirty lines)',
      'take CALL_FUNCTION',
      'TDH.VP.FLUSH',
      'take REBOOT',
      'stop_this_cpu: run 1',
      'send NMI to CPU 1',
      'woken by NMI',
      'take NMI',
      'relocate_kernel: no WBINVD',
      'kexec jump: new kernel entry',
    ]);
    await page.screenshot({ path: join(SHOTS, 'explore-race-kexec.png'), fullPage: true });
    await page.locator('#tl-fit').click();
    // Clicking the chart at the finding's diamond picks the moment for the cache view.
    await page.locator('#timeline path.finding-mark').click();
    expect(await page.locator('#findings .finding.selected').count()).toBe(1);
    expect(await page.locator('#cache-moment option:checked').innerText()).toBe('kexec jump on CPU 0 (1.033073 s)');
    await page.screenshot({ path: join(SHOTS, 'explore-race.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('an 8s-12t host (480 CPUs): lanes folded by package, page height bounded', async () => {
    const out = tempFile('8s.html', '');
    expect(tdxsim(['report', 'default', '--platform', '8s-12t', '-o', out]).status).toBe(0);
    const { page, errors } = await open(out);
    const lanes = await page.locator('#timeline text.lane-label').allTextContents();
    expect(lanes.length).toBeLessThanOrEqual(40);
    expect(lanes[0]).toBe('P0 CPU 0');
    expect(lanes.filter((l) => l.startsWith('P7 '))).toEqual(['P7 CPU 420', 'P7 CPUs 421\u2013479 (59, as CPU 421)']);
    const chartHeight = Number(await page.locator('#timeline').getAttribute('height'));
    expect(chartHeight).toBeLessThan(1000);
    expect(Number(await page.evaluate('document.body.scrollHeight'))).toBeLessThan(3000);
    await page.screenshot({ path: join(SHOTS, '8s-12t.png'), fullPage: true });
    // Print layout: controls hidden, the page still renders.
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('#tl-fit').isVisible()).toBe(false);
    writeFileSync(join(SHOTS, '8s-12t.pdf.txt'), 'print media emulated\n');
    expect(errors).toEqual([]);
  });

  it('a bare-platform scenario: the step log, the wheel zooms the map', async () => {
    const out = tempFile('alias.html', '');
    expect(tdxsim(['report', 'cache-alias', '--variant', 'cpu1-then-cpu0', '-o', out]).status).toBe(0);
    const { page, errors } = await open(out);
    expect(await page.title()).toBe('tdxsim report: cache-alias / cpu1-then-cpu0');
    expect(await page.locator('#findings .finding').count()).toBe(1);
    expect(await page.locator('#memory-map rect[data-lane="cmr"]').count()).toBe(2);
    expect(await page.locator('#memory-map rect[data-lane="overwritten"]').count()).toBe(1);
    expect(await page.locator('#timeline rect[data-kind="wbinvd"]').count()).toBe(2);
    expect(await page.locator('#timeline rect[data-kind="stale-writeback"]').count()).toBe(1);
    const before = await page.locator('#map-window').innerText();
    await page.locator('#memory-map').hover();
    await page.mouse.wheel(0, -500);
    expect(await page.locator('#map-window').innerText()).not.toBe(before);
    await page.screenshot({ path: join(SHOTS, 'cache-alias.png'), fullPage: true });
    expect(errors).toEqual([]);
  });
});
