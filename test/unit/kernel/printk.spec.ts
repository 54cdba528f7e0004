/**
 * printk's rate limit and the WARN splats (src/kernel/printk.ts) on a booted kernel, with time
 * from the simulated clock: the burst of 10, the interval of 5 s measured in jiffies (HZ=1000)
 * and opened only strictly after it, the `callbacks suppressed` line before the first line of the
 * new interval, one state per call site, WARN_ON_ONCE once per call site, WARN_ON every time.
 */
import { describe, expect, it } from 'vitest';

import type { Kernel } from '../../../src/kernel/Kernel.js';
import { CUT_HERE, DEFAULT_RATELIMIT_BURST, DEFAULT_RATELIMIT_INTERVAL, END_TRACE, HZ, jiffies, printk_ratelimited, WARN_ON, WARN_ON_ONCE, warning_line } from '../../../src/kernel/printk.js';
import type { Prog } from '../../../src/platform/Exec.js';
import { kernelRig } from '../../__test-helpers__/kernelMachine.js';
import type { KernelRig } from '../../__test-helpers__/kernelMachine.js';

/** Let `ns` of simulated time pass on the running CPU, then run `f`. */
function* after(ns: number, f: () => void): Prog {
  if (ns > 0) {
    yield { op: 'tick', ns, label: 'test' };
  }
  f();
}

/** `n` calls of printk_ratelimited() at site `site` in function `fn`, text `<fn>: line <i>`. */
function burst(k: Kernel, site: string, fn: string, n: number, from = 0): void {
  for (let i = 0; i < n; i++) {
    printk_ratelimited(k, site, fn, 'err', `${fn}: line ${from + i}`);
  }
}

function rig(): { r: KernelRig; k: Kernel; since: () => string[] } {
  const r = kernelRig('small-2s');
  const start = r.lines().length;
  return { r, k: r.m.kernel, since: () => r.lines().slice(start) };
}

describe('printk_ratelimited() (lib/ratelimit.c ___ratelimit(), 6.18.2)', () => {
  it('the constants: 5 * HZ jiffies, a burst of 10, HZ 1000', () => {
    expect([DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST, HZ]).toEqual([5000, 10, 1000]);
  });

  it('10 lines, then nothing until a call strictly after begin + 5 s, which first prints the count', () => {
    const { r, k, since } = rig();
    let begin = -1;
    r.run(
      after(0, () => {
        begin = jiffies(k);
        burst(k, 's1', 'f', 25);
      }),
    );
    expect(since()).toEqual(Array.from({ length: 10 }, (_, i) => `f: line ${i}`));
    // Exactly begin + interval: time_is_before_jiffies() is false, still the old interval.
    const toEdge = (begin + DEFAULT_RATELIMIT_INTERVAL) * (1e9 / HZ) - (k.platform.nowNs - k.bootNs);
    r.run(
      after(toEdge, () => {
        expect(jiffies(k)).toBe(begin + 5000);
        burst(k, 's1', 'f', 1, 25);
      }),
    );
    expect(since()).toHaveLength(10);
    // One jiffy later the interval opens: 16 suppressed (15 + the one at the edge), then the line.
    r.run(after(1e6, () => burst(k, 's1', 'f', 1, 26)));
    expect(since().slice(10)).toEqual(['f: 16 callbacks suppressed', 'f: line 26']);
    const recs = k.dmesg.records().slice(-2);
    expect(recs.map((x) => x.level)).toEqual(['warn', 'err']);
    // The new interval began at that call: its burst has 9 lines left, then silence again.
    r.run(after(0, () => burst(k, 's1', 'f', 12, 27)));
    expect(since().slice(12)).toEqual(Array.from({ length: 9 }, (_, i) => `f: line ${27 + i}`));
  });

  it('no later call, no count: the suppressed calls are never reported', () => {
    const { r, k, since } = rig();
    r.run(after(0, () => burst(k, 's1', 'f', 11)));
    r.run(after(60e9, () => undefined));
    expect(since()).toHaveLength(10);
    expect(since().some((l) => l.includes('suppressed'))).toBe(false);
  });

  it('one state per call site: two sites in the same function each print 10 and count apart', () => {
    const { r, k, since } = rig();
    r.run(
      after(0, () => {
        burst(k, 'a', 'g', 12);
        burst(k, 'b', 'g', 13, 100);
      }),
    );
    expect(since()).toHaveLength(20);
    r.run(
      after(6e9, () => {
        burst(k, 'b', 'g', 1, 200);
        burst(k, 'a', 'g', 1, 300);
      }),
    );
    expect(since().slice(20)).toEqual(['g: 3 callbacks suppressed', 'g: line 200', 'g: 2 callbacks suppressed', 'g: line 300']);
  });
});

describe('WARN_ON_ONCE() and WARN_ON() splats', () => {
  const site = { file: 'arch/x86/kvm/vmx/tdx.c', line: 316, fn: '__tdx_reclaim_page', module: 'kvm_intel' };

  it('the WARNING line: CPU, `PID: ?`, file:line, the bare function and the module', () => {
    expect(warning_line(3, site)).toBe('WARNING: CPU: 3 PID: ? at arch/x86/kvm/vmx/tdx.c:316 __tdx_reclaim_page [kvm_intel]');
    expect(warning_line(0, { file: 'x.c', line: 1, fn: 'f' })).toBe('WARNING: CPU: 0 PID: ? at x.c:1 f');
    // 7.1.3's __warn(): `WARNING: %s:%d at %pS, CPU#%d: %s/%d`, with `?` for the task name and PID.
    expect(warning_line(3, { ...site, line: 334, warnFormat: '7.1' })).toBe('WARNING: arch/x86/kvm/vmx/tdx.c:334 at __tdx_reclaim_page [kvm_intel], CPU#3: ?/?');
    expect([CUT_HERE, END_TRACE]).toEqual(['------------[ cut here ]------------', '---[ end trace 0000000000000000 ]---']);
  });

  it('WARN_ON_ONCE: the splat the first time the site fires, then only the condition', () => {
    const { r, k, since } = rig();
    const got: boolean[] = [];
    r.run(
      after(0, () => {
        got.push(WARN_ON_ONCE(k, 1, false, 'site', site));
        got.push(WARN_ON_ONCE(k, 1, true, 'site', site));
        got.push(WARN_ON_ONCE(k, 2, true, 'site', site));
        got.push(WARN_ON_ONCE(k, 2, true, 'other', undefined));
        got.push(WARN_ON_ONCE(k, 2, true, 'other', site));
      }),
    );
    expect(got).toEqual([false, true, true, true, true]);
    // 'other' fired first without a known line: counted, nothing printed, and never again.
    expect(since()).toEqual([CUT_HERE, 'WARNING: CPU: 1 PID: ? at arch/x86/kvm/vmx/tdx.c:316 __tdx_reclaim_page [kvm_intel]', END_TRACE]);
    expect(k.dmesg.records().slice(-3).map((x) => x.level)).toEqual(['warn', 'warn', 'warn']);
  });

  it('WARN_ON: the splat every time', () => {
    const { r, k, since } = rig();
    r.run(
      after(0, () => {
        WARN_ON(k, 0, true, site);
        WARN_ON(k, 0, false, site);
        WARN_ON(k, 0, true, site);
        WARN_ON(k, 0, true, undefined);
      }),
    );
    expect(since()).toHaveLength(6);
  });
});
