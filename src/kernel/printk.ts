/**
 * printk's rate limit and the WARN splat, as the kernel prints them, with time from the simulated
 * clock.
 *
 * printk_ratelimited() keeps one static ratelimit_state per call site (each macro expansion), named
 * after the function that expands it (`__func__`). With the default state a call site prints at
 * most DEFAULT_RATELIMIT_BURST lines per DEFAULT_RATELIMIT_INTERVAL; the calls past the burst
 * are counted, and the first call after the interval has run out prints
 * `<function>: <N> callbacks suppressed` (KERN_WARNING, no pr_fmt prefix) before its own line.
 * Nothing is printed for the suppressed calls until such a later call comes.
 *
 * WARN_ON_ONCE() on x86 is a UD2 with a bug-table entry flagged BUGFLAG_ONCE: report_bug() prints
 * the splat the first time that entry is hit in this boot and sets its BUGFLAG_DONE; later hits
 * print nothing (the condition is still returned). The splat is
 * `------------[ cut here ]------------` (KERN_DEFAULT: the model prints it at warn, the default
 * message level), `WARNING: CPU: %d PID: %d at %s:%d %pS`, the module list, the registers, the
 * call trace, then `---[ end trace 0000000000000000 ]---` (print_oops_end_marker() prints an id
 * of 0).
 *
 * What the model prints of a splat: the cut-here line, the WARNING line and the end-trace line.
 * The model has no processes and no code addresses, so the WARNING line carries `PID: ?` and the
 * bare function name where Linux prints `PID: <pid>` and `<function>+0x<off>/0x<size>` (the
 * model's, not Linux's; docs/kernel.md). "Modules linked in:", the register dump and the call
 * trace are left out.
 * @see linux include/linux/ratelimit_types.h DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST,
 *      DEFINE_RATELIMIT_STATE(), __ratelimit(); include/linux/printk.h printk_ratelimited(),
 *      pr_err_ratelimited(); lib/ratelimit.c ___ratelimit() (read at linux 6.18.2; ratelimit.c and
 *      ratelimit_types.h also at 6.16.1, the same for one caller)
 * @see linux include/asm-generic/bug.h CUT_HERE, WARN_ON_ONCE(); lib/bug.c report_bug()
 *      (BUGFLAG_ONCE, BUGFLAG_DONE); arch/x86/include/asm/bug.h __WARN_FLAGS() (UD2);
 *      kernel/panic.c __warn(), print_oops_end_marker() (linux 6.18.2; panic.c also 6.16.1)
 */
import type { LogLevel } from '../base/dmesg.js';
import type { Kernel } from './Kernel.js';

/**
 * CONFIG_HZ of the modelled kernels. HZ is a build option (kernel/Kconfig.hz: 100, 250, the
 * default, 300 or 1000); 1000 is the model's choice, as arch/x86/configs/x86_64_defconfig has
 * CONFIG_HZ_1000=y (6.18.2). It only sets how finely the rate limit's interval is measured.
 * @see linux kernel/Kconfig.hz, arch/x86/configs/x86_64_defconfig (v6.18.2)
 */
export const HZ = 1000;
/**
 * Jiffies per rate-limit interval: 5 * HZ (5 s).
 * @see linux include/linux/ratelimit_types.h DEFAULT_RATELIMIT_INTERVAL (v6.18.2)
 */
export const DEFAULT_RATELIMIT_INTERVAL = 5 * HZ;
/**
 * Lines a call site may print per interval.
 * @see linux include/linux/ratelimit_types.h DEFAULT_RATELIMIT_BURST (v6.18.2)
 */
export const DEFAULT_RATELIMIT_BURST = 10;

/** `------------[ cut here ]------------`. @see linux include/asm-generic/bug.h CUT_HERE */
export const CUT_HERE = '------------[ cut here ]------------';
/** print_oops_end_marker()'s line (`---[ end trace %016llx ]---` of 0). @see linux kernel/panic.c (v6.16.1, v6.18.2) */
export const END_TRACE = '---[ end trace 0000000000000000 ]---';

/**
 * One call site's struct ratelimit_state (DEFINE_RATELIMIT_STATE with the defaults): when the
 * current interval began (in jiffies), what is left of its burst, the calls suppressed in it.
 */
export class RatelimitState {
  initialized = false;
  begin = 0;
  left = DEFAULT_RATELIMIT_BURST;
  missed = 0;
  constructor(
    readonly interval = DEFAULT_RATELIMIT_INTERVAL,
    readonly burst = DEFAULT_RATELIMIT_BURST,
  ) {}
}

/** The kernel's printk state that outlives a call: rate-limit states and WARN_ON_ONCE flags, per call site. */
export class PrintkState {
  /** Per call site (a stable key), its ratelimit_state. */
  readonly ratelimits = new Map<string, RatelimitState>();
  /** Call sites whose WARN_ON_ONCE() has fired in this boot (the bug entry's BUGFLAG_DONE). */
  readonly warnedOnce = new Set<string>();
}

/** jiffies since this kernel booted, from the simulated clock. */
export function jiffies(k: Kernel): number {
  return Math.floor(((k.platform.nowNs - k.bootNs) * HZ) / 1e9);
}

/**
 * ___ratelimit(): may this call site print now? The first call starts the interval. A call once
 * the interval has run out (jiffies after begin + interval: time_is_before_jiffies()) starts a
 * new one, refills the burst and, if calls were suppressed, first prints
 * `<func>: <N> callbacks suppressed` at KERN_WARNING without a prefix. Then the call prints if
 * the burst has a line left, else it is counted as suppressed.
 * @param func the function the call site is in (`__func__`)
 * @returns true to print
 * @see linux lib/ratelimit.c ___ratelimit() (v6.16.1, v6.18.2: the same for one caller; the
 *      lock-contended path cannot happen in the model, which runs a call site's check in one
 *      step). Ubuntu 6.8's lib/ratelimit.c was not read; the model uses this one for every kernel
 *      (the Ubuntu 6.8 log of canonical/tdx #156 shows the same line format).
 */
export function ___ratelimit(k: Kernel, rs: RatelimitState, func: string): boolean {
  const now = jiffies(k);
  if (!rs.initialized) {
    rs.initialized = true;
    rs.begin = now;
    rs.left = rs.burst;
  }
  if (now - (rs.begin + rs.interval) > 0) {
    rs.left = rs.burst;
    rs.begin = now;
    const m = rs.missed;
    rs.missed = 0;
    if (m > 0) {
      k.klog.warn(`${func}: ${m} callbacks suppressed`);
    }
  }
  if (rs.left > 0) {
    rs.left--;
    return true;
  }
  rs.missed++;
  return false;
}

/**
 * printk_ratelimited() at `level`: print `text` (prefix included) unless the call site `site`
 * (in function `func`) has used its burst for this interval.
 * @returns whether the line was printed
 * @see linux include/linux/printk.h printk_ratelimited(), pr_err_ratelimited() (v6.18.2)
 */
export function printk_ratelimited(k: Kernel, site: string, func: string, level: LogLevel, text: string): boolean {
  // The rate-limit state is part of what the log will show: a write to it, like a line.
  k.dmesg.footprint?.w('dmesg');
  let rs = k.printk.ratelimits.get(site);
  if (rs === undefined) {
    rs = new RatelimitState();
    k.printk.ratelimits.set(site, rs);
  }
  if (!___ratelimit(k, rs, func)) {
    return false;
  }
  k.dmesg.log(level, text);
  return true;
}

/** Where a WARN_ON_ONCE() sits: the source file and line, the function, the module (if any). */
export interface WarnSite {
  readonly file: string;
  readonly line: number;
  readonly fn: string;
  readonly module?: string;
  /**
   * The WARNING line's format: undefined for 6.16–6.18's `WARNING: CPU: %d PID: %d at %s:%d %pS`,
   * `7.1` for 7.1.3's `WARNING: %s:%d at %pS, CPU#%d: %s/%d` (file, line, function, CPU, comm, pid).
   * @see linux kernel/panic.c __warn() (v6.18.2, v7.1.3)
   */
  readonly warnFormat?: '7.1';
}

/**
 * The WARNING line of a splat as the model prints it: 6.16–6.18's `WARNING: CPU: %d PID: %d at
 * %s:%d %pS`, or 7.1.3's `WARNING: %s:%d at %pS, CPU#%d: %s/%d` (`warnFormat: '7.1'`), with `?`
 * for the PID (and, in 7.1's format, for the task name) and the bare function name (plus
 * ` [module]`) for `%pS`, whose offset and size the model cannot know.
 * @see linux kernel/panic.c __warn() (v6.18.2, v7.1.3)
 */
export function warning_line(cpu: number, site: WarnSite): string {
  const where = `${site.fn}${site.module === undefined ? '' : ` [${site.module}]`}`;
  if (site.warnFormat === '7.1') {
    return `WARNING: ${site.file}:${site.line} at ${where}, CPU#${cpu}: ?/?`;
  }
  return `WARNING: CPU: ${cpu} PID: ? at ${site.file}:${site.line} ${where}`;
}

/**
 * WARN_ON_ONCE(cond) at the call site `key`: if `cond` and the site has not fired in this boot,
 * print the splat (`site` undefined: the site's line is not known for this kernel, so nothing is
 * printed, but the site still counts as fired). Returns `cond`, as the macro does.
 * @see linux include/asm-generic/bug.h WARN_ON_ONCE(); lib/bug.c report_bug() (v6.18.2)
 */
export function WARN_ON_ONCE(k: Kernel, cpu: number, cond: boolean, key: string, site: WarnSite | undefined): boolean {
  if (!cond || k.printk.warnedOnce.has(key)) {
    return cond;
  }
  k.dmesg.footprint?.w('dmesg');
  k.printk.warnedOnce.add(key);
  if (site !== undefined) {
    k.klog.warn(CUT_HERE);
    k.klog.warn(warning_line(cpu, site));
    k.klog.warn(END_TRACE);
  }
  return cond;
}

/**
 * WARN_ON(cond): the splat every time `cond` holds (no once flag); `site` undefined prints
 * nothing (line not known for this kernel). Returns `cond`.
 * @see linux include/asm-generic/bug.h WARN_ON(); lib/bug.c report_bug() (v6.18.2)
 */
export function WARN_ON(k: Kernel, cpu: number, cond: boolean, site: WarnSite | undefined): boolean {
  if (cond && site !== undefined) {
    k.dmesg.footprint?.w('dmesg');
    k.klog.warn(CUT_HERE);
    k.klog.warn(warning_line(cpu, site));
    k.klog.warn(END_TRACE);
  }
  return cond;
}
