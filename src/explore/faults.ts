/**
 * Fault plans: which named fault sites may fire in a run, and how often. In swarm mode each
 * run turns some kinds off entirely and weights the rest, so that every seed tests a different
 * mix of hazards. The plan is printed with the run so the reader knows what it tried.
 * @see TigerBeetle options_swarm(); madsim/FoundationDB buggify()
 */
import type { ChoiceSource } from '../base/choice.js';
import { ratio } from '../base/prng.js';
import type { Prng, Ratio } from '../base/prng.js';
import type { FaultInjector } from '../platform/Platform.js';

/** Fault sites known to the model, with what they do. */
export const FAULT_SITES: Readonly<Record<string, string>> = {
  'rdrand': 'RDRAND/RDSEED fails in the module (TDX_RND_NO_ENTROPY at SYS.INIT, LP.INIT, MNG.CREATE, MNG.ADDCX)',
  'pconfig.entropy': 'entropy failure while programming a key (TDX_KEY_GENERATION_FAILED at SYS.KEY.CONFIG / MNG.KEY.CONFIG)',
  'pconfig.busy': 'the key table is busy while programming a key (TDX_OPERAND_BUSY|KET)',
  'pamt.alloc': 'the kernel cannot allocate a PAMT (alloc_contig_pages fails)',
  'cpu.offline': 'a CPU goes offline (cpu_down) between two scenario steps',
  'nmi': 'an NMI arrives at a CPU at a chosen point (a spurious, e.g. perf, NMI)',
  'cache.evict': 'early cache write-back: a CPU evicts its LRU lines at a chosen point',
  'seamcall.status': 'a SEAMCALL returns a chosen error status without reaching the module',
};

/**
 * Kernel bugs a scenario can arm with a `fault` step (never drawn by swarm plans: they are
 * mutations of KVM, not events of a correct run).
 * @see src/kernel/kvm/td.ts FAULT_KVM_SKIP_VP_FLUSH, FAULT_KVM_RECLAIM_STALE
 */
export const KERNEL_BUG_SITES: Readonly<Record<string, string>> = {
  'kvm.vp_flush.skip': 'KVM tears a TD down without flushing its VCPU off the CPU it ran on (no TDH.VP.FLUSH)',
  'kvm.reclaim.stale': 'KVM reclaims a page again right after reclaiming it (its PAMT entry is already free)',
};

/** How one site behaves in a run. */
export interface SiteRule {
  /** Probability per opportunity in random runs. */
  readonly weight: Ratio;
  /** At most this many failures per run. */
  readonly max: number;
}

/** Which sites are armed. */
export interface FaultPlan {
  readonly sites: ReadonlyMap<string, SiteRule>;
}

/** No faults. */
export const NO_FAULTS: FaultPlan = { sites: new Map() };

/** A plan arming `names` with a fixed weight. */
export function fixedPlan(names: readonly string[], weight: Ratio = ratio(1, 4), max = 1): FaultPlan {
  return { sites: new Map(names.map((n) => [n, { weight, max }])) };
}

/** A swarm plan: each site on with probability 1/2, with a random weight. */
export function swarmPlan(prng: Prng, names: readonly string[] = Object.keys(FAULT_SITES)): FaultPlan {
  const sites = new Map<string, SiteRule>();
  for (const n of names) {
    if (prng.chance(ratio(1, 2))) {
      sites.set(n, { weight: ratio(1 + prng.int(8), 16), max: 1 + prng.int(2) });
    }
  }
  return { sites };
}

/** One line describing a plan, for the run's first log line. */
export function describePlan(plan: FaultPlan): string {
  if (plan.sites.size === 0) {
    return 'faults: none';
  }
  return `faults: ${[...plan.sites].map(([n, r]) => `${n}(${r.weight.numerator}/${r.weight.denominator}, max ${r.max})`).join(', ')}`;
}

/** The plan as a `--faults` argument that reproduces it: "site:n/d:max,...", or "none". */
export function formatPlan(plan: FaultPlan): string {
  if (plan.sites.size === 0) {
    return 'none';
  }
  return [...plan.sites].map(([n, r]) => `${n}:${r.weight.numerator}/${r.weight.denominator}:${r.max}`).join(',');
}

/**
 * Parse a `--faults` list: "none", "swarm" is handled by the caller; otherwise comma-separated
 * `site` or `site:n/d:max`. Returns an error message for unknown sites or bad syntax.
 */
export function parsePlan(s: string): FaultPlan | string {
  if (s === 'none' || s === '') {
    return NO_FAULTS;
  }
  const sites = new Map<string, SiteRule>();
  for (const part of s.split(',')) {
    const m = /^([a-z.]+)(?::(\d+)\/(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (m === null) {
      return `"${part}": expected SITE or SITE:n/d:max`;
    }
    const name = m[1] as string;
    if (!Object.hasOwn(FAULT_SITES, name)) {
      return `unknown fault site "${name}" (known: ${Object.keys(FAULT_SITES).join(', ')})`;
    }
    const num = m[2] === undefined ? 1 : Number(m[2]);
    const den = m[3] === undefined ? 4 : Number(m[3]);
    if (den < 1 || num > den || den > 1024) {
      return `"${part}": weight must be n/d with 0 <= n <= d <= 1024`;
    }
    sites.set(name, { weight: ratio(num, den), max: m[4] === undefined ? 1 : Math.max(1, Number(m[4])) });
  }
  return { sites };
}

/**
 * A FaultInjector driven by a plan. Every opportunity at an armed site is a choice on the
 * run's choice source, so a choice path alone reproduces which faults fired: a two-way choice
 * in exhaustive search, a `denominator`-way choice (fail below `numerator`) otherwise.
 */
export class PlanFaults implements FaultInjector {
  private readonly used = new Map<string, number>();
  readonly fired: string[] = [];

  constructor(
    private readonly plan: FaultPlan,
    private readonly choices: ChoiceSource,
    private readonly exhaustive: boolean,
  ) {}

  /** A follow-up choice for a site that fired (e.g. which status a SEAMCALL returns). */
  choose(n: number, label: string): number {
    return this.choices.choose(n, label);
  }

  shouldFail(site: string, cpu: number): boolean {
    const rule = this.plan.sites.get(site);
    if (rule === undefined) {
      return false;
    }
    const n = this.used.get(site) ?? 0;
    if (n >= rule.max) {
      return false;
    }
    const fail = this.exhaustive ? this.choices.choose(2, `fault:${site}`) === 1 : this.choices.choose(rule.weight.denominator, `fault:${site}`) < rule.weight.numerator;
    if (fail) {
      this.used.set(site, n + 1);
      this.fired.push(`${site}@cpu${cpu}`);
    }
    return fail;
  }
}

/** Several injectors; the first that fails wins. */
export class CompositeFaults implements FaultInjector {
  constructor(private readonly parts: readonly FaultInjector[]) {}
  shouldFail(site: string, cpu: number): boolean {
    return this.parts.some((p) => p.shouldFail(site, cpu));
  }
  choose(n: number, label: string): number {
    for (const p of this.parts) {
      if (p.choose !== undefined) {
        return p.choose(n, label);
      }
    }
    return 0;
  }
}
