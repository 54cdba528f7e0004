/**
 * Per-boot state of the reboot/kexec machinery: who is stopping the other CPUs, which CPUs
 * have not stopped yet, and where the kexec-ing CPU jumped. One instance per Kernel, so a
 * kexec'd kernel starts clean.
 * @see linux arch/x86/kernel/smp.c (stopping_cpu, cpus_stop_mask), kernel/kexec_core.c
 */

/** Reboot/kexec state of one kernel. */
export class KexecState {
  /** atomic_t stopping_cpu: -1 until a CPU claims the stop. */
  stopping_cpu = -1;
  /** cpus_stop_mask: CPUs that have not yet stopped. */
  readonly cpus_stop_mask = new Set<number>();
  /** kexec_in_progress. */
  kexec_in_progress = false;
  /** The smp_stop NMI handler is registered. */
  nmiHandlerRegistered = false;
  /** machine_kexec_prepare() printed its refusal once (pr_info_once). */
  refusalPrinted = false;
  /** A crash kernel is in progress (NMI shootdown instead of stop_this_cpu). */
  crashing = false;
  /** CPUs that acknowledged the crash NMI (waiting_for_crash_ipi). */
  readonly crashAcked = new Set<number>();
  /** Simulated time at which the kexec-ing CPU jumped to the new kernel. */
  jumpNs: number | undefined;
  /** How many times each CPU ran stop_this_cpu (the NMI race runs it twice). */
  readonly stopRuns = new Map<number, number>();
  /** WBINVDs executed in the kexec path, per CPU, with their times. */
  readonly flushes: { cpu: number; t: number; site: string }[] = [];
}
