/**
 * `tdxsim run --scenario td-* [--seamcalls]` and `tdxsim scenarios` for the TD lifecycle
 * scenarios: what a user sees. Needs `npm run build` (the CLI runs from dist/).
 */
import { describe, expect, it } from 'vitest';

import { tdxsim } from '../__test-helpers__/cli.js';

/** The SEAMCALL lines of --seamcalls output, without the time stamp. */
function seamcalls(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => /^ {3}\[ *\d+\.\d{6}\] CPU \d+ /.test(l))
    .map((l) => l.replace(/^ {3}\[ *\d+\.\d{6}\] /, ''));
}

describe('tdxsim run --scenario td-migrate --seamcalls', () => {
  it('shows the vCPU moving: VP.FLUSH on the old CPU, VP.ENTER on the new, then the teardown', () => {
    const r = tdxsim(['run', '--scenario', 'td-migrate', '--seamcalls']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const calls = seamcalls(r.stdout);
    const from = calls.indexOf('CPU 0 TDH.VP.INIT -> TDX_SUCCESS');
    expect(from).toBeGreaterThan(0);
    const vp = calls.slice(from).filter((c) => /VP\.|VPFLUSHDONE|CACHE\.WB|FREEID/.test(c));
    expect(vp).toEqual([
      'CPU 0 TDH.VP.INIT -> TDX_SUCCESS',
      'CPU 0 TDH.VP.FLUSH -> TDX_SUCCESS',
      'CPU 1 TDH.VP.ENTER -> TDX_SUCCESS, exit reason 77 (TDCALL)',
      'CPU 1 TDH.VP.FLUSH -> TDX_SUCCESS',
      'CPU 0 TDH.VP.ENTER -> TDX_SUCCESS, exit reason 77 (TDCALL)',
      'CPU 0 TDH.VP.FLUSH -> TDX_SUCCESS',
      'CPU 1 TDH.VP.ENTER -> TDX_SUCCESS, exit reason 77 (TDCALL)',
      'CPU 1 TDH.VP.FLUSH -> TDX_SUCCESS',
      'CPU 0 TDH.MNG.VPFLUSHDONE -> TDX_SUCCESS',
      'CPU 0 TDH.PHYMEM.CACHE.WB -> TDX_SUCCESS',
      'CPU 2 TDH.PHYMEM.CACHE.WB -> TDX_SUCCESS',
      'CPU 0 TDH.MNG.KEY.FREEID -> TDX_SUCCESS',
    ]);
    expect(calls[calls.length - 1]).toBe('CPU 0 TDH.PHYMEM.PAGE.WBINVD -> TDX_SUCCESS');
    expect(r.stdout).toContain(
      '-- note: td.run on CPU 0: TDH.VP.ENTER 0x4d (TDX_SUCCESS, exit reason 77 (TDCALL))\n-- note: td.run on CPU 1: TDH.VP.ENTER 0x4d (TDX_SUCCESS, exit reason 77 (TDCALL))\n-- note: td.destroy: 0 (success)\n-- no findings\n',
    );
    expect(r.stdout).toContain('verdict: pass (expected: no findings; found: none)');
  });
});

describe('tdxsim run --scenario td-multi-vcpu --seamcalls', () => {
  it('three vCPUs: VP.CREATE, 5 VP.ADDCX and VP.INIT each on CPU 0, each entered on its own CPU, each flushed off its last CPU at teardown', () => {
    const r = tdxsim(['run', '--scenario', 'td-multi-vcpu', '--seamcalls']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const calls = seamcalls(r.stdout);
    const init = ['CPU 0 TDH.VP.CREATE -> TDX_SUCCESS', ...Array<string>(5).fill('CPU 0 TDH.VP.ADDCX -> TDX_SUCCESS'), 'CPU 0 TDH.VP.INIT -> TDX_SUCCESS'];
    const enter = (cpu: number): string => `CPU ${cpu} TDH.VP.ENTER -> TDX_SUCCESS, exit reason 77 (TDCALL)`;
    expect(calls.filter((c) => /VP\.|VPFLUSHDONE|CACHE\.WB|FREEID/.test(c))).toEqual([
      ...init,
      ...init,
      ...init,
      // vCPU 0 to CPU 1, vCPU 1 to CPU 2, vCPU 2 to CPU 3: each flushed off CPU 0 first.
      'CPU 0 TDH.VP.FLUSH -> TDX_SUCCESS',
      enter(1),
      'CPU 0 TDH.VP.FLUSH -> TDX_SUCCESS',
      enter(2),
      'CPU 0 TDH.VP.FLUSH -> TDX_SUCCESS',
      enter(3),
      // vCPU 1 moves from CPU 2 to CPU 0.
      'CPU 2 TDH.VP.FLUSH -> TDX_SUCCESS',
      enter(0),
      // Teardown: vCPU 0 off CPU 1, vCPU 1 off CPU 0, vCPU 2 off CPU 3.
      'CPU 1 TDH.VP.FLUSH -> TDX_SUCCESS',
      'CPU 0 TDH.VP.FLUSH -> TDX_SUCCESS',
      'CPU 3 TDH.VP.FLUSH -> TDX_SUCCESS',
      'CPU 0 TDH.MNG.VPFLUSHDONE -> TDX_SUCCESS',
      'CPU 0 TDH.PHYMEM.CACHE.WB -> TDX_SUCCESS',
      'CPU 2 TDH.PHYMEM.CACHE.WB -> TDX_SUCCESS',
      'CPU 0 TDH.MNG.KEY.FREEID -> TDX_SUCCESS',
    ]);
    expect(calls[calls.length - 1]).toBe('CPU 0 TDH.PHYMEM.PAGE.WBINVD -> TDX_SUCCESS');
    expect(r.stdout).toContain('-- note: td.run vCPU 1 on CPU 2: TDH.VP.ENTER 0x4d (TDX_SUCCESS, exit reason 77 (TDCALL))\n-- note: td.run vCPU 2 on CPU 3: TDH.VP.ENTER 0x4d (TDX_SUCCESS, exit reason 77 (TDCALL))\n-- note: td.run vCPU 1 on CPU 0: TDH.VP.ENTER 0x4d (TDX_SUCCESS, exit reason 77 (TDCALL))\n-- note: td.destroy: 0 (success)\n-- no findings\n');
    expect(r.stdout).toContain('verdict: pass (expected: no findings; found: none)');
  });
});

describe('tdxsim run: the refused teardowns', () => {
  it('td-teardown-no-vp-flush: VPFLUSHDONE refuses, nothing after it, no KVM line', () => {
    const r = tdxsim(['run', '--scenario', 'td-teardown-no-vp-flush', '--seamcalls']);
    expect(r.status).toBe(0);
    const calls = seamcalls(r.stdout);
    expect(calls[calls.length - 1]).toBe('CPU 0 TDH.MNG.VPFLUSHDONE -> TDX_FLUSHVP_NOT_DONE');
    expect(r.stdout).not.toContain('kvm_intel:');
    expect(r.stdout).toContain('-- note: td.destroy: -5 (EIO)\n');
  });

  it('td-reclaim-ubuntu-6.8: the real reports\' line three times, exit 0 (the expected verdict)', () => {
    const r = tdxsim(['run', '--scenario', 'td-reclaim-ubuntu-6.8']);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l.includes('SEAMCALL ('));
    expect(lines.map((l) => l.replace(/^\[ *\d+\.\d{6}\] /, ''))).toEqual(
      Array<string>(3).fill('SEAMCALL (0x000000000000001c) failed: 0xc000030000000001 RCX 0x0000000000000000 RDX 0x0000000000000000 R8 0x0000000000000000 R9 0x0000000000000000 R10 0x0000000000000000 R11 0x0000000000000000'),
    );
  });
});

describe('tdxsim scenarios', () => {
  it('lists the six TD lifecycle scenarios with their kernels', () => {
    const s = JSON.parse(tdxsim(['scenarios', '--json']).stdout) as { name: string; kernel: string | null }[];
    expect(s.filter((x) => x.name.startsWith('td-')).map((x) => [x.name, x.kernel])).toEqual([
      ['td-migrate', 'linux-6.18'],
      ['td-multi-vcpu', 'linux-6.18'],
      ['td-reclaim-metadata-incorrect', 'linux-6.18'],
      ['td-reclaim-ubuntu-6.8', 'ubuntu-6.8-intel'],
      ['td-release', 'linux-6.18'],
      ['td-teardown-no-vp-flush', 'linux-6.18'],
    ]);
  });
});
