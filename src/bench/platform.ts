/**
 * Platform and scheduler benchmarks (issue 2): building the 8s-12t host, a 4 GiB MOVDIR64B
 * followed by WBINVD on every CPU, and fast-path scheduling steps.
 */
import { FIRST_CHOICE } from '../base/choice.js';
import { Scheduler } from '../sim/Scheduler.js';
import type { Prog } from '../platform/Exec.js';
import { Platform } from '../platform/Platform.js';
import { preset } from '../platform/presets.js';
import type { Bench } from './types.js';
import { gc, rssMb, timeMs } from './types.js';

const build8s: Bench = {
  name: 'platform.build-8s-12t',
  target: '< 200 ms and < 100 MB RSS growth',
  run() {
    gc();
    const before = rssMb();
    const { ms, value } = timeMs(() => new Platform(preset('8s-12t')!));
    const grow = rssMb() - before;
    return { metrics: { ms, rssGrowthMb: grow, cpus: value.cpus.length }, pass: ms < 200 && grow < 100 };
  },
};

const movdirWbinvd: Bench = {
  name: 'platform.movdir64b-4g-wbinvd-480',
  target: '< 50 ms',
  run() {
    const p = new Platform(preset('8s-12t')!);
    // Give every CPU some dirty lines first so WBINVD has work to do.
    for (const c of p.cpus) {
      p.storeFill(c, 0x1_0000_0000 + c.id * 0x10_0000, 0x1000, 1, 0, 'bench');
    }
    const { ms } = timeMs(() => {
      p.movdir64b(p.cpu(0), 0x2_0000_0000, 4 * 2 ** 30, 65, 0, 'bench');
      let dirty = 0;
      for (const c of p.cpus) {
        dirty += p.wbinvdNow(c);
      }
      return dirty;
    });
    return { metrics: { ms, cpus: p.cpus.length }, pass: ms < 50 };
  },
};

const schedSteps: Bench = {
  name: 'sched.fast-path-steps',
  target: '>= 2,000,000 steps/s on a 2-CPU ping-pong',
  run() {
    const p = new Platform(preset('small-2s')!);
    const s = new Scheduler(p, FIRST_CHOICE, 'timed');
    const rounds = 1_000_000;
    const shared = { turn: 0 };
    const side = function* (me: number): Prog {
      for (let i = 0; i < rounds; i++) {
        if (shared.turn !== me) {
          yield { op: 'wait', until: () => shared.turn === me, timeoutNs: Infinity, label: 'turn' };
        }
        yield { op: 'tick', ns: 1 };
        shared.turn = 1 - me;
      }
    };
    s.spawn(p.cpu(1), side(1));
    s.spawn(p.cpu(0), side(0));
    const { ms } = timeMs(() => s.run());
    const steps = s.stats.steps;
    const perSec = steps / (ms / 1000);
    return { metrics: { steps, ms, stepsPerSec: Math.round(perSec) }, pass: perSec >= 2_000_000 };
  },
};

/** Issue 2 benchmarks. */
export const platformBenches: Bench[] = [build8s, movdirWbinvd, schedSteps];
