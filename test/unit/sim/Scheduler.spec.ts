import { describe, expect, it } from 'vitest';

import { FIRST_CHOICE } from '../../../src/base/choice.js';
import { Prng } from '../../../src/base/prng.js';
import { RandomChoices } from '../../../src/sim/choices/RandomChoices.js';
import { ReplayChoices } from '../../../src/sim/choices/ReplayChoices.js';
import { Scheduler } from '../../../src/sim/Scheduler.js';
import type { Prog } from '../../../src/platform/Exec.js';
import { waitUntil } from '../../../src/platform/Exec.js';
import { Platform } from '../../../src/platform/Platform.js';
import { preset } from '../../../src/platform/presets.js';

function pingPong(p: Platform, rounds: number): { a: Prog<number>; b: Prog<number>; log: string[] } {
  const shared = { turn: 0 };
  const log: string[] = [];
  function* side(me: number): Prog<number> {
    for (let i = 0; i < rounds; i++) {
      yield* waitUntil(() => shared.turn === me, Infinity, 'turn');
      log.push(`${me}:${i}@${p.current.clockNs}`);
      yield { op: 'tick', ns: 10 };
      shared.turn = 1 - me;
    }
    return rounds;
  }
  return { a: side(0), b: side(1), log };
}

describe('Scheduler', () => {
  it('runs a two-CPU ping-pong in time order', () => {
    const p = new Platform(preset('small-2s')!);
    const s = new Scheduler(p, FIRST_CHOICE, 'timed');
    const { a, b, log } = pingPong(p, 3);
    s.spawn(p.cpu(1), b);
    const r = s.runProgram(p.cpu(0), a);
    s.run();
    expect(r).toBe(3);
    expect(log).toEqual(['0:0@0', '1:0@10', '0:1@20', '1:1@30', '0:2@40', '1:2@50']);
  });

  it('delivers an IPI payload to an idle CPU and wakes a halted one with an NMI', () => {
    const p = new Platform(preset('small-2s')!);
    const s = new Scheduler(p, FIRST_CHOICE, 'timed');
    const seen: string[] = [];
    p.cpu(2).irqEnabled = false;
    p.cpu(2).handlers.set('NMI', function* () {
      seen.push(`nmi@${p.current.clockNs}`);
    });
    s.spawn(p.cpu(2), (function* (): Prog {
      yield { op: 'halt' };
      seen.push(`woke@${p.current.clockNs}`);
    })());
    s.runProgram(p.cpu(0), (function* (): Prog {
      p.sendIpi(p.cpu(0), p.cpu(1), 'CALL_FUNCTION', function* () {
        seen.push(`call on ${p.current.id}@${p.current.clockNs}`);
      });
      yield { op: 'tick', ns: 5000 };
      p.sendIpi(p.cpu(0), p.cpu(2), 'NMI');
      yield { op: 'tick', ns: 5000 };
    })());
    s.run();
    expect(seen).toEqual(['call on 1@2000', 'nmi@6000', 'woke@6000']);
  });

  it('times out a wait at its simulated deadline', () => {
    const p = new Platform(preset('small-2s')!);
    const s = new Scheduler(p, FIRST_CHOICE, 'timed');
    const r = s.runProgram(p.cpu(0), waitUntil(() => false, 1_000_000_000, 'never'));
    expect(r).toBe(false);
    expect(p.cpu(0).clockNs).toBe(1_000_000_000);
  });

  it('free policy: replaying a random path reproduces the trace hash', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const runOnce = (choices: RandomChoices | ReplayChoices): { hash: string; log: string[] } => {
        const p = new Platform(preset('small-2s')!);
        const s = new Scheduler(p, choices, 'free');
        const counter = { n: 0 };
        const log: string[] = [];
        for (let c = 0; c < 4; c++) {
          s.spawn(p.cpu(c), (function* (): Prog {
            for (let i = 0; i < 5; i++) {
              const v = counter.n;
              yield { op: 'yield' };
              counter.n = v + 1;
              log.push(`${c}:${counter.n}`);
              p.storeFill(p.cpu(c), 0x1000 * c, 64, i, c === 0 ? 17 : 0, `cpu${c}`);
            }
          })());
        }
        s.run();
        return { hash: p.tracer.hash, log };
      };
      const rnd = new RandomChoices(new Prng(seed));
      const first = runOnce(rnd);
      const again = runOnce(new ReplayChoices(rnd.path));
      expect(again, `seed ${seed}`).toEqual(first);
    }
  });
});
