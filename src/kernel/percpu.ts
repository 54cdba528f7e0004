/**
 * Per-CPU variables (DEFINE_PER_CPU): one slot per logical CPU, owned by a Kernel instance so
 * that a kexec'd kernel starts from fresh values.
 * @see linux include/linux/percpu-defs.h
 */
import { ModelBug } from '../base/assert.js';

/** A per-CPU variable of type T. */
export class PerCpu<T> {
  private readonly slots: T[];

  /**
   * @param nrCpus number of possible CPUs
   * @param init initial value of each CPU's slot
   */
  constructor(nrCpus: number, init: (cpu: number) => T) {
    this.slots = Array.from({ length: nrCpus }, (_, i) => init(i));
  }

  /** per_cpu(var, cpu). */
  get(cpu: number): T {
    this.check(cpu);
    return this.slots[cpu] as T;
  }

  /** per_cpu(var, cpu) = v. */
  set(cpu: number, v: T): void {
    this.check(cpu);
    this.slots[cpu] = v;
  }

  /** Not assert(): that would build its message on every access (every SEAMCALL sets a flag). */
  private check(cpu: number): void {
    if (!(cpu >= 0 && cpu < this.slots.length)) {
      throw new ModelBug(`per-cpu: no CPU ${cpu}`);
    }
  }

  /** Snapshot of every slot (for reports and checkers). */
  values(): readonly T[] {
    return this.slots.slice();
  }
}
