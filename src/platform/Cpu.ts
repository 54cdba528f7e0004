/**
 * A logical processor: its place in the topology, its mode bits, its MSRs, its cache and its
 * pending interrupts. Behaviour lives in Platform; this is the state.
 */
import { shareInSnapshots } from '../base/clone.js';
import { CowMap } from '../base/cow.js';
import type { CpuId, NodeId, PackageId } from '../base/ids.js';
import type { Cache } from './Cache.js';
import type { Prog } from './Exec.js';

/** Interrupt vectors the model knows. */
export type Vector = 'REBOOT' | 'CALL_FUNCTION' | 'NMI';

/** An interrupt in flight or pending. */
export interface PendingInterrupt {
  readonly vector: Vector;
  /** Simulated time at which it arrives. */
  readonly arrivalNs: number;
  readonly from: number;
  /** Latency class chosen by exploration (absent: nominal). `arrivalNs` is Infinity for "never". */
  readonly latencyClass?: number;
  /** Work carried by CALL_FUNCTION IPIs (smp_call_function and friends). */
  readonly payload?: () => Prog;
}

/**
 * What a CPU does on an interrupt: a program pushed on top of what it was running. Prefer the
 * bound form `{ self, fn }` over a closure: snapshots (base/clone.ts) copy `self` with the rest
 * of the machine, while a closure would keep pointing at the original objects.
 */
export type InterruptHandler = ((cpu: Cpu, irq: PendingInterrupt) => Prog) | BoundHandler;

/** An interrupt handler as an object plus a function of it (snapshot-safe). */
export interface BoundHandler {
  readonly self: object;
  readonly fn: (self: never, cpu: Cpu, irq: PendingInterrupt) => Prog;
  /**
   * Label of the handler's first step (from its entry to its first pause), as a `yield` label
   * would name it: `local:...` promises that this step touches only this CPU's own state (or
   * reads state no CPU will write again). A function computes it at delivery from `self`,
   * without recording footprints. Default: none.
   */
  readonly entry?: string | ((self: never, cpu: Cpu, irq: PendingInterrupt) => string);
}

/** The label of a handler's entry step (see BoundHandler.entry). */
export function handlerEntry(h: InterruptHandler, cpu: Cpu, irq: PendingInterrupt): string {
  if (typeof h === 'function' || h.entry === undefined) {
    return '';
  }
  return typeof h.entry === 'string' ? h.entry : h.entry(h.self as never, cpu, irq);
}

/** Invoke a handler of either form. */
export function callHandler(h: InterruptHandler, cpu: Cpu, irq: PendingInterrupt): Prog {
  return typeof h === 'function' ? h(cpu, irq) : (h.fn as (self: object, cpu: Cpu, irq: PendingInterrupt) => Prog)(h.self, cpu, irq);
}

/** No CPUID differences (shared by every CPU without an override). */
const NO_CPUID_XOR: ReadonlyMap<string, readonly [number, number, number, number]> = shareInSnapshots(new Map());

/** Key of a CPUID leaf/subleaf in `Cpu.cpuidXor`; `subleaf` 0xFFFFFFFF: a leaf without subleaves. */
export function cpuidKey(leaf: number, subleaf: number): string {
  return `${leaf >>> 0}:${subleaf >>> 0}`;
}

/** One logical processor. */
export class Cpu {
  online = true;
  /** In VMX operation (after VMXON): SEAMCALL needs it. */
  vmx = false;
  irqEnabled = true;
  halted = false;
  inSeam = false;
  inNmi = false;
  /** Simulated local time (ns). */
  clockNs = 0;
  /** Steps this CPU has executed (the scheduler counts; checkers compare). */
  stepCount = 0;
  /** Time of this CPU's last SEAMCALL entry, or -1. */
  lastSeamcallNs = -1;
  /** Time of this CPU's last WBINVD, or -1. */
  lastWbinvdNs = -1;
  /** MSR values (copy-on-write: snapshots share them until a WRMSR). */
  readonly msrs = new CowMap<number, bigint>();
  /**
   * CPUID registers that differ on this CPU from the platform's other CPUs, by `cpuidKey(leaf,
   * subleaf)`: per register [EAX, EBX, ECX, EDX] the bits that read the other way. The model has
   * no CPUID values, only these differences (spec `cpuidOverrides`); set at construction, then
   * only read.
   */
  cpuidXor: ReadonlyMap<string, readonly [number, number, number, number]> = NO_CPUID_XOR;
  readonly pending: PendingInterrupt[] = [];
  /**
   * Extra delivery delay per vector for this CPU (a CPU stuck with interrupts off, a slow
   * wake-up): how scenarios make a REBOOT IPI arrive late.
   */
  readonly lateVector = new Map<Vector, number>();
  /** Interrupt handlers, installed by the running kernel. */
  readonly handlers = new Map<Vector, InterruptHandler>();

  constructor(
    readonly id: CpuId,
    readonly packageId: PackageId,
    readonly coreId: number,
    readonly threadId: number,
    readonly apicId: number,
    readonly node: NodeId,
    readonly cache: Cache,
  ) {}

  /** Pending interrupts that can be taken now (NMIs always unless nested). */
  deliverable(): PendingInterrupt | undefined {
    for (const irq of this.pending) {
      if (irq.arrivalNs > this.clockNs && !this.halted) {
        continue;
      }
      if (irq.vector === 'NMI' ? !this.inNmi : this.irqEnabled) {
        return irq;
      }
    }
    return undefined;
  }
}
