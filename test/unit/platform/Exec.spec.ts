/**
 * `call()`: a subroutine run as its own generator frame by the runner means exactly what
 * `yield*` means — same steps, same values, same exceptions — under runToCompletion and under
 * the scheduler (with interrupts and a second CPU).
 */
import { describe, expect, it } from 'vitest';

import { FIRST_CHOICE } from '../../../src/base/choice.js';
import { Scheduler } from '../../../src/sim/Scheduler.js';
import { call, runToCompletion } from '../../../src/platform/Exec.js';
import type { Prog, Step } from '../../../src/platform/Exec.js';
import { Platform } from '../../../src/platform/Platform.js';
import { preset } from '../../../src/platform/presets.js';

type Invoke = <T>(p: Prog<T>) => Prog<T>;
const viaCall: Invoke = call;
const viaDelegation: Invoke = function* <T>(p: Prog<T>): Prog<T> {
  return yield* p;
};

/** A small program tree: nested subroutines, values, a throw caught by a caller, finally. */
function program(invoke: Invoke, log: string[]): Prog<number> {
  function* leaf(n: number): Prog<number> {
    yield { op: 'tick', ns: n * 1000, label: `leaf${n}` };
    return n * 2;
  }
  function* immediate(): Prog<number> {
    return 7;
  }
  function* failing(): Prog<number> {
    yield { op: 'yield', label: 'before-throw' };
    throw new Error('boom');
  }
  function* middle(): Prog<number> {
    let sum = 0;
    for (let i = 1; i <= 3; i++) {
      sum += yield* invoke(leaf(i));
    }
    sum += yield* invoke(immediate());
    try {
      sum += yield* invoke(failing());
    } catch (e) {
      log.push(`caught ${(e as Error).message}`);
    } finally {
      log.push('finally');
    }
    return sum;
  }
  return (function* (): Prog<number> {
    const a = yield* invoke(middle());
    yield { op: 'tick', ns: 100, label: 'top' };
    return a + (yield* invoke(leaf(10)));
  })();
}

describe('call()', () => {
  it('runToCompletion: same value, time and side effects as yield*', () => {
    const a: string[] = [];
    const b: string[] = [];
    const x = runToCompletion(program(viaCall, a));
    const y = runToCompletion(program(viaDelegation, b));
    expect(x).toEqual(y);
    expect(x).toEqual({ value: 2 + 4 + 6 + 7 + 20, ns: 1000 + 2000 + 3000 + 100 + 10_000 });
    expect(a).toEqual(b);
    expect(a).toEqual(['caught boom', 'finally']);
  });

  it('an uncaught exception in a callee reaches the runner', () => {
    function* bad(): Prog<number> {
      yield { op: 'yield' };
      throw new Error('deep');
    }
    expect(() => runToCompletion((function* (): Prog<number> {
      return yield* call((function* (): Prog<number> {
        return yield* call(bad());
      })());
    })())).toThrow('deep');
  });

  it('scheduler: the same steps, interleaving and interrupts as yield*', () => {
    const once = (invoke: Invoke): { steps: string[]; value: number; log: string[] } => {
      const p = new Platform(preset('small-2s')!);
      const s = new Scheduler(p, FIRST_CHOICE, 'timed');
      const steps: string[] = [];
      s.onStep((cpu, st: Step | 'done' | 'irq') => {
        steps.push(`${cpu.id}:${typeof st === 'string' ? st : `${st.op}/${'label' in st ? (st.label ?? '') : ''}`}@${cpu.clockNs}`);
      });
      p.cpu(0).handlers.set('NMI', function* () {
        yield { op: 'tick', ns: 1, label: 'nmi' };
      });
      const log: string[] = [];
      // CPU 1 sends CPU 0 an NMI that lands while CPU 0 is inside a called subroutine.
      s.spawn(p.cpu(1), (function* (): Prog {
        yield { op: 'tick', ns: 2, label: 'send' };
        p.sendIpi(p.cpu(1), p.cpu(0), 'NMI');
        yield* invoke((function* (): Prog {
          yield { op: 'tick', ns: 50, label: 'cpu1' };
        })());
      })());
      const value = s.runProgram(p.cpu(0), program(invoke, log));
      s.run();
      return { steps, value, log };
    };
    const a = once(viaCall);
    const b = once(viaDelegation);
    expect(a).toEqual(b);
    // The NMI (sent at 2 ns, 1 µs latency) is taken while CPU 0 is two calls deep, in leaf(2).
    const irq = a.steps.findIndex((x) => x.startsWith('0:irq'));
    expect(irq).toBeGreaterThan(a.steps.findIndex((x) => x.startsWith('0:tick/leaf2')));
    expect(irq).toBeLessThan(a.steps.findIndex((x) => x.startsWith('0:tick/leaf3')));
  });
});
