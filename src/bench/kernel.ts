/**
 * Kernel benchmarks: a full TDX bring-up as KVM does it — boot, VMXON and tdx_cpu_enable() on
 * every CPU, tdx_enable() with every TDH.SYS.TDMR.INIT call — on the big presets, timed in wall
 * clock and compared with the simulated machine's own dmesg time.
 */
import { FIRST_CHOICE } from '../base/choice.js';
import { Scheduler } from '../sim/Scheduler.js';
import { createMachine } from '../machine/Machine.js';
import { preset } from '../platform/presets.js';
import type { Bench, BenchResult } from './types.js';
import { gc, rssMb, timeMs } from './types.js';

/** Boot + kvm_intel tdx=1 on `name`; wall ms, simulated ms, PAMT line, RSS. */
export function bringUp(name: string): { wallMs: number; simMs: number; ret: number; rssMb: number; steps: number; lines: string[] } {
  const spec = preset(name);
  if (spec === undefined) {
    throw new Error(`no preset ${name}`);
  }
  gc();
  const { ms, value } = timeMs(() => {
    const m = createMachine({ spec });
    const sched = new Scheduler(m.platform, FIRST_CHOICE, 'timed');
    const cpu0 = m.platform.cpu(0);
    sched.runProgram(cpu0, m.bootKernel(), 'boot', 1e9);
    const ret = sched.runProgram(cpu0, m.loadKvm(), 'kvm', 1e9);
    const recs = m.kernel.dmesg.records();
    const last = recs[recs.length - 1];
    return { ret, simNs: last === undefined ? 0 : last.ns, steps: sched.stats.steps, lines: m.dmesgLines().filter((l) => l.includes('tdx')) };
  });
  return { wallMs: ms, simMs: value.simNs / 1e6, ret: value.ret, rssMb: rssMb(), steps: value.steps, lines: value.lines };
}

function bringUpBench(name: string, maxMs: number, maxMb: number | undefined): Bench {
  return {
    name: `kernel.bringup-${name}`,
    target: `full TDX bring-up < ${maxMs / 1000} s${maxMb === undefined ? '' : `, < ${maxMb} MB`}`,
    run(): BenchResult {
      const r = bringUp(name);
      const ok = r.ret === 0 && r.lines.some((l) => l.endsWith('module initialized'));
      return {
        metrics: { wall_ms: r.wallMs, sim_ms: r.simMs, wall_per_sim: r.wallMs / r.simMs, rss_mb: r.rssMb, sched_steps: r.steps, ret: r.ret },
        pass: ok && r.wallMs < maxMs && (maxMb === undefined || r.rssMb < maxMb),
      };
    },
  };
}

/** The kernel benchmarks (registered in bench/main.ts). */
export const kernelBenches: Bench[] = [bringUpBench('emr-2s-1t', 1000, undefined), bringUpBench('8s-12t', 10_000, 300)];
