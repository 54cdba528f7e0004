/**
 * Interrupt latency as a choice. On hardware a CPU may sit with interrupts disabled for any
 * length of time (a critical section, a long SEAMCALL such as TDH.SYS.TDMR.INIT or
 * TDH.PHYMEM.CACHE.WB, an NMI handler), and delivery itself takes a variable time. Only the
 * order of that delay against the deadlines the code waits on matters, so each vector gets a
 * short ladder of latency classes: nominal, after each deadline that matters, never.
 * Exploration asks the choice source for a class each time such an interrupt is sent; option 0
 * is nominal, so shrinking leads back to the ordinary schedule.
 * @see linux arch/x86/kernel/smp.c native_stop_other_cpus() (the 1 s REBOOT wait, the 10 ms
 *      NMI wait of smp_send_stop())
 */
import type { ChoiceSource } from '../base/choice.js';
import { STOP_REBOOT_WAIT_NS } from '../kernel/kexec/smp.js';
import type { Cpu, Vector } from '../platform/Cpu.js';
import type { InterruptLatency } from '../platform/Platform.js';

/** Extra latencies per vector; index 0 must be 0 (nominal). */
export type LatencyLadder = ReadonlyMap<Vector, readonly number[]>;

/** Past a deadline by this much: a class "after the wait" lands just after it timed out. */
const PAST_NS = 1_000;

/**
 * The default ladder of exploration. REBOOT: nominal, after the 1 s REBOOT wait of
 * native_stop_other_cpus(), never (the CPU keeps interrupts off; only the NMI reaches it).
 * NMIs get no ladder: every NMI wait of the modelled paths is unbounded (kexec passes
 * wait=1) or is the crash shootdown's, and an NMI cannot be masked outside an NMI handler,
 * so a late NMI adds no behaviour the free order of steps does not already have.
 */
export const DEFAULT_LATENCY_LADDER: LatencyLadder = new Map<Vector, readonly number[]>([['REBOOT', [0, STOP_REBOOT_WAIT_NS + PAST_NS, Infinity]]]);

/** Latency chosen per interrupt on a choice source. */
export class LatencyChoices implements InterruptLatency {
  constructor(
    private readonly choices: ChoiceSource,
    private readonly ladder: LatencyLadder = DEFAULT_LATENCY_LADDER,
  ) {}

  extraNs(_to: Cpu, vector: Vector): { ns: number; cls: number } {
    const l = this.ladder.get(vector);
    if (l === undefined || l.length < 2) {
      return { ns: 0, cls: 0 };
    }
    const cls = this.choices.choose(l.length, `latency:${vector}`);
    return { ns: l[cls] ?? 0, cls };
  }
}
