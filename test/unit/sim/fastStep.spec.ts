/**
 * The scheduler as the platform's FastStepper: when a program may account for its next steps
 * instead of yielding them (only where the timed fast path would take them one after the
 * other), and that accounting for them leaves what yielding them leaves.
 */
import { describe, expect, it } from 'vitest';

import { FIRST_CHOICE } from '../../../src/base/choice.js';
import type { Prog, Step } from '../../../src/platform/Exec.js';
import { Platform } from '../../../src/platform/Platform.js';
import { preset } from '../../../src/platform/presets.js';
import { Scheduler } from '../../../src/sim/Scheduler.js';

const STEPS: readonly Step[] = [
  { op: 'tick', ns: 700, label: 'seamcall' },
  { op: 'yield', label: 'seam' },
  { op: 'tick', ns: 700, label: 'seamcall' },
  { op: 'yield', label: 'seam', local: 'k=1' },
];

function rig(policy: 'timed' | 'free' = 'timed'): { p: Platform; s: Scheduler } {
  const p = new Platform(preset('small-2s')!);
  return { p, s: new Scheduler(p, FIRST_CHOICE, policy) };
}

/** A program that ticks once, then takes STEPS (yielded, or accounted for when `fast`), then ticks again. */
function* prog(p: Platform, fast: boolean, granted: boolean[]): Prog {
  yield { op: 'tick', ns: 100, label: 'start' };
  const cpu = p.current;
  const ok = fast && p.stepper !== undefined && p.stepper.canFastStep(cpu, STEPS.length);
  granted.push(ok);
  for (const st of STEPS) {
    p.tracer.memWrite(p.nowNs, cpu.id, 0x1000, 64, 0, 'probe');
    if (ok) {
      p.stepper?.fastStep(cpu, st);
    } else {
      yield st;
    }
  }
  yield { op: 'tick', ns: 100, label: 'end' };
}

describe('Scheduler as FastStepper', () => {
  it('accounting for steps leaves the clock, counters, history, trace hash and fingerprint that yielding them leaves', () => {
    const a = rig();
    const b = rig();
    const ga: boolean[] = [];
    const gb: boolean[] = [];
    a.s.runProgram(a.p.cpu(0), prog(a.p, true, ga));
    b.s.runProgram(b.p.cpu(0), prog(b.p, false, gb));
    expect(ga).toEqual([true]);
    expect(gb).toEqual([false]);
    expect(a.p.cpu(0).clockNs).toBe(1600);
    expect(a.s.stats).toEqual({ steps: 7, choices: 0, fastSteps: 7 });
    expect(a.s.stats).toEqual(b.s.stats);
    expect(a.p.cpu(0).clockNs).toBe(b.p.cpu(0).clockNs);
    expect(a.p.cpu(0).stepCount).toBe(b.p.cpu(0).stepCount);
    expect(a.p.tracer.hash).toBe(b.p.tracer.hash);
    expect(a.s.fingerprint(false)).toBe(b.s.fingerprint(false));
    expect(a.p.stepper).toBeUndefined();
  });

  it('refuses while another CPU is busy, with an interrupt pending, with a step listener, under the free policy', () => {
    const busy = rig();
    busy.s.spawn(busy.p.cpu(1), (function* (): Prog {
      yield { op: 'tick', ns: 1e6 };
    })());
    const g1: boolean[] = [];
    busy.s.runProgram(busy.p.cpu(0), prog(busy.p, true, g1));
    const irq = rig();
    const g2: boolean[] = [];
    irq.s.runProgram(irq.p.cpu(0), (function* (): Prog {
      yield { op: 'tick', ns: 10 };
      irq.p.sendIpi(irq.p.cpu(1), irq.p.cpu(0), 'CALL_FUNCTION');
      g2.push(irq.p.stepper?.canFastStep(irq.p.cpu(0), 1) ?? false);
    })());
    const listened = rig();
    listened.s.onStep(() => undefined);
    const g3: boolean[] = [];
    listened.s.runProgram(listened.p.cpu(0), prog(listened.p, true, g3));
    const free = rig('free');
    const g4: boolean[] = [];
    free.s.runProgram(free.p.cpu(0), prog(free.p, true, g4));
    expect([g1, g2, g3, g4]).toEqual([[false], [false], [false], [false]]);
  });

  it('grants only the steps the budget has room for', () => {
    const { p, s } = rig();
    const seen: boolean[] = [];
    s.runProgram(p.cpu(0), (function* (): Prog {
      // Step 0 of the run: the fast path may take steps 1 to 4 of a budget of 5.
      seen.push(p.stepper?.canFastStep(p.cpu(0), 4) ?? false, p.stepper?.canFastStep(p.cpu(0), 5) ?? false);
      yield { op: 'tick', ns: 1 };
    })(), 'budget', 5);
    expect(seen).toEqual([true, false]);
  });
});
