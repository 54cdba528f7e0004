import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { counterexampleScenario, exploreScenario, run } from '../../../src/api/index.js';
import { buildReport, reportSource } from '../../../src/api/report.js';
import { renderReport } from '../../../src/web/render.js';

/** An explore result file as `explore --out` writes it (src/cli/commands/explore.ts). */
function exploreFile(): string {
  const r = exploreScenario({ scenario: 'kexec-race-2cpu' });
  const file = join(mkdtempSync(join(tmpdir(), 'tdxsim-report-')), 'race.json');
  writeFileSync(file, JSON.stringify({ format: 'tdxsim-explore/1', scenario: r.scenario, campaign: r.campaign, replay: r.replay ?? null, ...r.details }));
  return file;
}

describe('report model', () => {
  it('runs a scenario with its own schedule, as run does: kexec-stop-race finds the race', () => {
    const r = buildReport({ scenario: 'kexec-stop-race' });
    expect(run({ scenario: 'kexec-stop-race' }).verdict).toBe('pass');
    expect(r.verdict).toBe('pass');
    expect(r.model.verdictText).toBe('verdict pass (expected: cpu-still-running; found: cpu-still-running)');
    const m = r.model.main;
    expect(m.findings.map((f) => [f.class, f.cpu, f.t])).toEqual([['cpu-still-running', 1, 1_033_069_910]]);
    expect(m.findings[0]?.replay).toBe('tdxsim run --scenario kexec-stop-race --seed 1 --path 1.1.0.0.2.0.1.1.0.0');
    // The NMI from CPU 0 to CPU 1 after the 1 s wait, the epochs, the jump.
    expect(m.arrows.filter((a) => a.nmi)).toEqual([{ t0: 1_030_041_910, t1: 1_030_042_910, from: 0, to: 1, nmi: true, vector: 'NMI' }]);
    expect(m.epochs.map((e) => e.label)).toEqual(['linux-6.18 (kernel#0)', 'relocate_kernel, swap_pages', 'purgatory, early boot', 'new kernel (kernel#1)']);
    expect(m.epochs[1]).toEqual({ t0: 1_030_069_910, t1: 1_033_069_910, label: 'relocate_kernel, swap_pages' });
    expect(m.jumps).toEqual([1_033_069_910]);
    expect(m.caches.map((c) => c.label)).toContain('just before the jump (relocate_kernel on CPU 0)');
  });

  it('is deterministic: the same execution gives the same page, with no clock in it', () => {
    const a = renderReport(buildReport({ scenario: 'kexec-stop-race' }).model);
    const b = renderReport(buildReport({ scenario: 'kexec-stop-race' }).model);
    expect(a).toBe(b);
    expect(a).not.toMatch(/Date|Math\.random|performance\.now/);
    // Self-contained: no URL other than the SVG namespace.
    expect([...a.matchAll(/https?:\/\/[^'"\s)]+/g)].map((x) => x[0])).toEqual(['http://www.w3.org/2000/svg']);
  });

  it('has the verdict of run: a mutant kernel fails', () => {
    expect(run({ scenario: 'default', kernel: 'mutant-no-kexec-wbinvd' }).verdict).toBe('fail');
    const r = buildReport({ scenario: 'default', kernel: 'mutant-no-kexec-wbinvd' });
    expect(r.verdict).toBe('fail');
    expect(r.model.verdictText).toBe('verdict fail (expected: none; found: seamcall-after-flush, silent-corruption)');
  });

  it('kexec-rfc-td: the chart marks where CPU 0 dirtied the lines written back stale (PAMT, TDR and TDVPR pages: the cause)', () => {
    const m = buildReport({ scenario: 'kexec-rfc-td' }).model.main;
    const causes = m.events.filter((e) => e.fields['mark'] === 'stale-line-dirtied').map((e) => `CPU ${e.cpu} ${e.t}: ${e.label}`);
    // The report keeps every event of the run, so it sees all six PAMT stores of TDMR.INIT
    // (run's text output keeps the last 5,000 events and shows the last two).
    expect(causes).toEqual([
      'CPU 0 1109150: 0x17fff3000 (PAMT of TDMR 0, given to the TDX module by kernel 1): dirtied through KeyID 16 by TDH.SYS.TDMR.INIT; written back stale at 0.033048 s',
      'CPU 0 5461150: 0x17fff5000 (PAMT of TDMR 0, given to the TDX module by kernel 1): dirtied through KeyID 16 by TDH.SYS.TDMR.INIT; written back stale at 0.033048 s',
      'CPU 0 9813150: 0x17f7ee000 (PAMT of TDMR 1, given to the TDX module by kernel 1): dirtied through KeyID 16 by TDH.SYS.TDMR.INIT; written back stale at 0.033048 s',
      'CPU 0 14165150: 0x17f7f0000 (PAMT of TDMR 1, given to the TDX module by kernel 1): dirtied through KeyID 16 by TDH.SYS.TDMR.INIT; written back stale at 0.033048 s',
      'CPU 0 18517150: 0x1ffffb000 (PAMT of TDMR 2, given to the TDX module by kernel 1): dirtied through KeyID 16 by TDH.SYS.TDMR.INIT; written back stale at 0.033048 s',
      'CPU 0 22869150: 0x1ffffd000 (PAMT of TDMR 2, given to the TDX module by kernel 1): dirtied through KeyID 16 by TDH.SYS.TDMR.INIT; written back stale at 0.033048 s',
      'CPU 0 27198150: 0x17efed040 (TDR page of TD 1, HKID 17): dirtied through KeyID 16 by TDH.MNG.ADDCX; written back stale at 0.033048 s',
      'CPU 0 27206150: 0x17efe6100 (TDVPR page of TD 1, HKID 17): dirtied through KeyID 17 by TDH.VP.INIT; written back stale at 0.033048 s',
      // The two Secure EPT lines TDH.MEM.SEPT.ADD stored on CPU 0 (module/septLayout.ts).
      'CPU 0 27207150: 0x17efe9000 (TDCS page of TD 1, HKID 17): dirtied through KeyID 17 by TDH.MEM.SEPT.ADD; written back stale at 0.033048 s',
      'CPU 0 27208150: 0x17eee0000 (Secure EPT page of TD 1, HKID 17): dirtied through KeyID 17 by TDH.MEM.SEPT.ADD; written back stale at 0.033048 s',
      'CPU 0 27739150: 0x17efed000 (TDR page of TD 1, HKID 17): dirtied through KeyID 16 by TDH.MEM.PAGE.AUG; written back stale at 0.033048 s',
    ]);
    expect(m.findings.filter((f) => f.class === 'silent-corruption').map((f) => f.message.split(': a stale')[0])).toEqual([
      'silent corruption: 773 lines in 8 ranges, first at 0x17fff3000 (PAMT of TDMR 0, given to the TDX module by kernel 1)',
      'silent corruption: 3 lines in 3 ranges, first at 0x17efe6100 (TDVPR page of TD 1, HKID 17)',
    ]);
  });

  it('ties corruption findings to their lines, and shows those lines dirty just before the jump', () => {
    const m = buildReport({ scenario: 'kexec-mutant' }).model.main;
    const td = m.findings.find((f) => f.class === 'silent-corruption' && f.cpu === 1);
    // 4094, not 4096: the TDCS line and the vCPU's TDVPS association line (TDVPR + 0x1C0) the
    // module stores on CPU 1 at VP.ENTER evict the TD's two oldest lines (CPU 1's cache holds 4096
    // lines), which are written back before the jump.
    expect(td?.message).toContain('4094 lines from 0x17efa1080');
    expect(td?.ranges).toEqual([{ base: 0x17efa1080, end: 0x17efa1000 + 4096 * 64 }]);
    expect(td?.writebacks).toHaveLength(1);
    const before = m.caches.find((c) => c.label.startsWith('just before the jump'));
    expect(before?.cpus.find((c) => c.cpu === 1)).toEqual({
      cpu: 1,
      lines: 4096,
      ranges: [
        { keyId: 17, base: 0x17efa1080, end: 0x17efa1000 + 4096 * 64, writer: 'td1' },
        { keyId: 17, base: 0x17efe61c0, end: 0x17efe6200, writer: 'tdx-module' },
        { keyId: 17, base: 0x17efec000, end: 0x17efec040, writer: 'tdx-module' },
      ],
      moreRanges: 0,
    });
    const lanes = Object.fromEntries(m.memory.lanes.map((l) => [l.kind, l.regions.length]));
    // The TD's lines, the TDR/TDCS/TDVPS lines and the PAMT_2M/1G lines the module left dirty (no
    // WBINVD on this mutant): CPU 0's stale write-backs are 773 lines in 8 ranges, CPU 1's TDCS
    // and TDVPS lines 2 lines in 2 ranges; and the two Secure EPT lines TDH.MEM.SEPT.ADD stored
    // on CPU 0 (line 0 of the SEPT root and of the level-2 SEPT page: module/septLayout.ts).
    expect(lanes['overwritten']).toBe(15);
    expect(lanes['crashkernel']).toBe(1);
    expect(lanes['newkernel']).toBeGreaterThan(0);
  });

  it('draws an explore result: its counterexample next to the default schedule, first divergence marked', () => {
    const file = exploreFile();
    expect(reportSource(file)).toEqual({ exploreResult: file });
    const r = buildReport({ exploreResult: file });
    expect(r.verdict).toBe('fail');
    expect(r.model.verdictText).toBe('replay: 1 finding(s)');
    expect(r.model.main.findings.map((f) => f.class)).toEqual(['cpu-still-running']);
    expect(r.model.main.findings[0]?.replay).toBe('tdxsim replay kexec-race-2cpu --seed 1 --path 1.1.0.0.2.0.1.1');
    expect(r.model.compare?.other.findings).toEqual([]);
    expect(r.model.compare?.divergence).toEqual({ index: 45, mainT: 1_029_046_846, otherT: 1_030_044_846, main: 'CPU 1: stop_this_cpu: run 1', other: 'CPU 0: send NMI to CPU 1' });
    // The same schedule given as a replay draws the same execution.
    const again = buildReport({ scenario: 'kexec-race-2cpu', path: '1.1.0.0.2.0.1.1', replay: {} });
    expect(again.model.main.events).toEqual(r.model.main.events);
  });

  it('draws another path of the same scenario next to it (--compare-path)', () => {
    const r = buildReport({ scenario: 'kexec-stop-race', comparePath: '0' });
    expect(r.verdict).toBe('pass');
    expect(r.model.main.findings).toHaveLength(1);
    expect(r.model.compare?.other.name).toBe('path 0');
    expect(r.model.compare?.other.findings).toEqual([]);
    expect(r.model.compare?.divergence).toEqual({ index: 45, mainT: 1_029_043_910, otherT: 1_030_041_910, main: 'CPU 1: stop_this_cpu: run 1', other: 'CPU 0: send NMI to CPU 1' });
  });

  it('refuses what it cannot draw, with stable codes', () => {
    expect(() => buildReport({ scenario: 'kexec-race-2cpu', replay: {} })).toThrow(expect.objectContaining({ code: 'TDXSIM_BAD_ARGS', message: '--replay (or --faults, --fault-choices, --cpus, --no-latency): give the explored schedule with --path' }));
    const bad = join(mkdtempSync(join(tmpdir(), 'tdxsim-report-')), 'x.json');
    writeFileSync(bad, JSON.stringify({ format: 'tdxsim-explore/1', campaign: 'nope' }));
    expect(() => buildReport({ exploreResult: bad })).toThrow(expect.objectContaining({ code: 'TDXSIM_BAD_ARGS', message: `explore result file ${bad}: "campaign" is not one explore wrote` }));
    expect(() => buildReport({ scenario: 'kexec-stop-race', path: '9.9' })).toThrow(
      expect.objectContaining({ code: 'TDXSIM_BAD_PATH', message: '--path 9.9: does not fit this scenario: choice 0 is 9 but only 2 options exist there (at sched); was it recorded with other options (--platform, --kernel, --module, --cpus, --faults, --seed)? (a path printed by explore or replay is drawn with --replay)' }),
    );
    expect(() => reportSource('no-such-scenario')).toThrow(expect.objectContaining({ code: 'TDXSIM_UNKNOWN_SCENARIO' }));
  });
});

describe('report of a saved counterexample (schedule policy explored)', () => {
  it('draws the execution run judges, with its verdict and finding', () => {
    const req = { scenario: 'kexec-race-2cpu' } as const;
    const x = exploreScenario(req);
    const sc = counterexampleScenario(req, x);
    expect(sc).toBeDefined();
    const ran = run({ scenarioObject: sc });
    const r = buildReport({ scenarioObject: sc });
    expect(r.verdict).toBe(ran.verdict);
    expect(ran.verdict).toBe('fail');
    expect(r.model.main.findings.map((f) => [f.class, f.cpu])).toEqual(ran.findings.map((f) => [f.class, f.details['cpu']]));
    expect(r.model.main.findings.map((f) => f.class)).toEqual(['cpu-still-running']);
  });
});
