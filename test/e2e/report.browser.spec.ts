import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';

import { tdxsim, tempFile } from '../__test-helpers__/cli.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (CHROMIUM === undefined) {
  // Say why the browser tests are skipped (README "Set up").
  console.warn('report.browser.spec.ts: skipped: install chromium (/usr/bin/chromium) to run the HTML report tests');
}

describe('tdxsim report', () => {
  it('writes nothing on bad input', () => {
    const out = tempFile('r.html', '');
    const r = tdxsim(['report', 'no-such-scenario', '-o', `${out}.new`]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('tdxsim: "no-such-scenario" is neither an embedded scenario nor a .json file\n');
    expect(existsSync(`${out}.new`)).toBe(false);
  });

  it.skipIf(CHROMIUM === undefined)('opens offline in headless Chromium with its main elements', async () => {
    const out = tempFile('report.html', '');
    const r = tdxsim(['report', 'cache-alias', '--variant', 'cpu1-then-cpu0', '-o', out]);
    expect(r.status).toBe(0);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const context = await browser.newContext({ offline: true });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(pathToFileURL(out).href);
      expect(await page.title()).toBe('tdxsim report: cache-alias / cpu1-then-cpu0');
      expect(await page.locator('#findings .finding').count()).toBe(1);
      expect(await page.locator('#findings .finding').innerText()).toContain('stale KeyID 17 alias');
      // Memory map lanes are drawn to scale; the CMR lane has both CMRs.
      expect(await page.locator('#memory-map rect[data-lane="cmr"]').count()).toBe(2);
      expect(await page.locator('#memory-map rect[data-lane="private"]').count()).toBe(1);
      // The timeline shows the two WBINVDs and the stale write-back.
      expect(await page.locator('#timeline rect[data-kind="wbinvd"]').count()).toBe(2);
      expect(await page.locator('#timeline rect[data-kind="stale-writeback"]').count()).toBe(1);
      // Cache contents at a chosen moment: after the two stores, both CPUs hold one dirty line.
      await page.selectOption('#cache-moment', '2');
      expect(await page.locator('#cache-table').innerText()).toMatch(/KeyID 0\s+KeyID 17/);
      // Zoom with the wheel changes the visible window.
      const before = await page.locator('#map-window').innerText();
      await page.locator('#memory-map').hover();
      await page.mouse.wheel(0, -500);
      expect(await page.locator('#map-window').innerText()).not.toBe(before);
      expect(errors).toEqual([]);
      const dir = join(process.cwd(), 'test-results');
      mkdirSync(dir, { recursive: true });
      const shot = join(dir, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  });

  it.skipIf(CHROMIUM === undefined)('shows the TDX layout and the kexec findings of a kernel scenario', async () => {
    const out = tempFile('kexec.html', '');
    expect(tdxsim(['report', 'kexec-mutant', '-o', out]).status).toBe(0);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    try {
      const page = await (await browser.newContext({ offline: true })).newPage();
      await page.goto(pathToFileURL(out).href);
      expect(await page.locator('#memory-map rect[data-lane="tdmr"]').count()).toBe(3);
      expect(await page.locator('#memory-map rect[data-lane="pamt"]').count()).toBe(9);
      expect(await page.locator('#memory-map rect[data-lane="cmr"]').count()).toBe(2);
      expect(await page.locator('#timeline rect[data-kind="kexec"]').count()).toBeGreaterThanOrEqual(2);
      const findings = await page.locator('#findings .finding').allInnerTexts();
      expect(findings.some((f) => f.includes('[silent-corruption]') && f.includes('KeyID 17 alias (written by td1)'))).toBe(true);
      expect(await page.locator('#dmesg').innerText()).toContain('kexec_core: Starting new kernel');
    } finally {
      await browser.close();
    }
  });
});
