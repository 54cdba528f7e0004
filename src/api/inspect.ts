/**
 * `tdxsim inspect`: the machine at one moment of an execution, the way `crash` shows a vmcore:
 * the running kernel's tdx_module_status and per-CPU flags, the module's state and KOT (HKID
 * states), dirty cache lines per CPU and KeyID, and on request the PAMT entries and owners of a
 * range, one CPU's cache lines by address and KeyID, or who owns a physical line. The moment is
 * taken between scheduler steps (or, for `jump`, as the kexec-ing CPU leaves the old kernel);
 * the view is plain data, made there and then.
 */
import { LINE_SIZE } from '../base/ids.js';
import { hex } from '../base/u64.js';
import { TdxModule } from '../module/TdxModule.js';
import { MachineSession } from '../scenario/kernelSession.js';
import type { ScenarioRun } from '../scenario/runScenario.js';
import type { ScenarioStep } from '../scenario/scenario.js';
import { TdxsimError } from './errors.js';
import { recordExecution } from './execution.js';
import type { ExecutionRequest } from './execution.js';

/** When to look: after step N, at a simulated time, at the kexec/crash jump, or at the end. */
export type InspectMoment = { readonly kind: 'step'; readonly step: number } | { readonly kind: 'time'; readonly ns: number } | { readonly kind: 'jump' } | { readonly kind: 'end' };

/** What to show besides the summary. */
export interface InspectRequest extends ExecutionRequest {
  readonly at: InspectMoment;
  /** PAMT entries of [base, base + len). */
  readonly pamt?: { readonly base: number; readonly len: number };
  /** One CPU's cached lines. */
  readonly cache?: number;
  /** One physical line: its owner in memory and its cached copies. */
  readonly line?: number;
}

/** One CPU as the kernel and the platform see it. */
export interface InspectCpu {
  readonly cpu: number;
  readonly package: number;
  readonly online: boolean;
  readonly vmx: boolean;
  readonly halted: boolean;
  readonly inSeam: boolean;
  readonly inNmi: boolean;
  /** Per-CPU cache_state_incoherent of the running kernel. */
  readonly cache_state_incoherent: boolean;
  /** In the running kernel's cpus_stop_mask. */
  readonly inStopMask: boolean;
  /** How many times stop_this_cpu() ran here. */
  readonly stopThisCpuRuns: number;
  /** What the CPU is running (innermost last), or "idle". */
  readonly running: string;
  readonly dirtyLines: number;
}

/** A PAMT range with one kind of entry. */
export interface InspectPamtRange {
  readonly base: string;
  readonly end: string;
  readonly pages: number;
  /** PT_NDA, PT_RSVD, PT_REG, PT_TDR..., or "no PAMT" (not TDMR memory) / "not initialized" (TDMR block not yet initialized). */
  readonly pt: string;
  readonly level?: string;
  /** PA of the owning TDR, and that TD's HKID. */
  readonly owner?: string;
  readonly ownerHkid?: number;
}

/** A cached range. */
export interface InspectCacheRange {
  readonly keyId: number;
  readonly base: string;
  readonly end: string;
  readonly lines: number;
  readonly dirty: boolean;
  readonly version: number;
  readonly writer: string;
}

/** The machine at one moment. */
export interface InspectView {
  readonly scenario: string;
  readonly at: { readonly requested: string; readonly t: number; readonly where: string };
  readonly kernel: {
    readonly profile: string;
    /** 0 for the first kernel, 1 after one kexec... */
    readonly generation: number;
    readonly tdx_module_status: string;
    readonly kexec: { readonly stopping_cpu: number; readonly kexec_in_progress: boolean; readonly nmiHandlerRegistered: boolean; readonly crashing: boolean };
  } | null;
  readonly cpus: InspectCpu[];
  readonly module: { readonly release: string; readonly sysState: string; readonly privateHkids: number[]; readonly kot: { readonly hkid: number; readonly state: string; readonly wbinvdBitmap: number }[]; readonly tds: { readonly tdr: string; readonly hkid: number; readonly lifecycle: string }[] } | null;
  readonly pamt?: { readonly base: string; readonly len: string; readonly ranges: InspectPamtRange[] };
  readonly cache?: { readonly cpu: number; readonly lines: number; readonly dirtyLines: number; readonly ranges: InspectCacheRange[] };
  readonly line?: {
    readonly pa: string;
    readonly memory: { readonly keyId: number; readonly tdOwned: boolean; readonly poison: boolean; readonly version: number; readonly writer: string };
    readonly cached: { readonly cpu: number; readonly keyId: number; readonly dirty: boolean; readonly version: number; readonly writer: string }[];
  };
}

/** Parse `--at`: a step number, a time with unit (1.5s, 30ms, 500us, 1000ns), `jump` or `end`. */
export function parseMoment(s: string): InspectMoment {
  const t = s.trim();
  if (t === 'jump' || t === 'end') {
    return { kind: t };
  }
  if (/^\d+$/.test(t)) {
    return { kind: 'step', step: Number(t) };
  }
  const m = /^(\d+(?:\.\d+)?)(s|ms|us|ns)$/.exec(t);
  if (m === null) {
    throw new TdxsimError('TDXSIM_BAD_ARGS', `--at "${s}": expected a step number (3), a simulated time with unit (1.5s, 30ms, 500us, 1000ns), jump or end`);
  }
  const scale = { s: 1e9, ms: 1e6, us: 1e3, ns: 1 }[m[2] as 's' | 'ms' | 'us' | 'ns'];
  return { kind: 'time', ns: Math.round(Number(m[1]) * scale) };
}

/** The moment as `--at` takes it (`2`, `0.005s`, `jump`, `end`). */
function describeMoment(m: InspectMoment): string {
  switch (m.kind) {
    case 'step':
      return String(m.step);
    case 'time':
      return `${m.ns / 1e9}s`;
    case 'jump':
    case 'end':
      return m.kind;
  }
}

/** Split [base, end) into PAMT ranges of one kind, from the module's snapshot. */
function pamtRanges(snap: Record<string, unknown>, base: number, end: number): InspectPamtRange[] {
  const num = (h: string): number => Number(BigInt(h));
  const tdmrs = (snap['tdmrs'] as { base: string; size: string; initialized: string; reserved: { offset: string; size: string }[] }[]).map((t) => ({ base: num(t.base), end: num(t.base) + num(t.size), ready: num(t.initialized), rsvd: t.reserved.map((r) => [num(t.base) + num(r.offset), num(t.base) + num(r.offset) + num(r.size)] as const) }));
  const owned = (snap['pamtOwned'] as { pa: string; pages: number; pt: string; level: number; owner: string }[]).map((o) => ({ start: num(o.pa), end: num(o.pa) + o.pages * 4096, pt: o.pt, level: o.level, owner: o.owner }));
  const hkidOf = new Map((snap['tds'] as { tdr: string; hkid: number }[]).map((t) => [num(t.tdr), t.hkid]));
  const cuts = new Set<number>([base, end]);
  const add = (x: number): void => {
    if (x > base && x < end) {
      cuts.add(x);
    }
  };
  for (const t of tdmrs) {
    [t.base, t.end, t.ready, ...t.rsvd.flat()].forEach(add);
  }
  owned.forEach((o) => [o.start, o.end].forEach(add));
  const points = [...cuts].sort((a, b) => a - b);
  const out: InspectPamtRange[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [x, y] = [points[i] as number, points[i + 1] as number];
    const o = owned.find((r) => r.start <= x && x < r.end);
    const t = tdmrs.find((r) => r.base <= x && x < r.end);
    const kind: Omit<InspectPamtRange, 'base' | 'end' | 'pages'> =
      o !== undefined
        ? { pt: o.pt, level: ['4K', '2M', '1G'][o.level] ?? String(o.level), ...(num(o.owner) !== 0 ? { owner: o.owner, ...(hkidOf.has(num(o.owner)) ? { ownerHkid: hkidOf.get(num(o.owner)) as number } : {}) } : {}) }
        : t === undefined
          ? { pt: 'no PAMT (not TDMR memory)' }
          : x >= t.ready
            ? { pt: 'not initialized (TDH.SYS.TDMR.INIT has not reached this 1G block)' }
            : t.rsvd.some(([a, b]) => a <= x && x < b)
              ? { pt: 'PT_RSVD' }
              : { pt: 'PT_NDA' };
    const prev = out[out.length - 1];
    if (prev !== undefined && prev.end === hex(x) && prev.pt === kind.pt && prev.level === kind.level && prev.owner === kind.owner) {
      out[out.length - 1] = { ...prev, end: hex(y), pages: prev.pages + Math.ceil((y - x) / 4096) };
    } else {
      out.push({ base: hex(x), end: hex(y), pages: Math.ceil((y - x) / 4096), ...kind });
    }
  }
  return out;
}

/** The view of `run` now. */
function viewOf(run: ScenarioRun, req: InspectRequest, requested: string, where: string, t: number): InspectView {
  const p = run.platform;
  const session = run.kernel instanceof MachineSession ? run.kernel : undefined;
  const k = session?.machine.kernel;
  const st = k?.kexec_state;
  const mod = session?.machine.module;
  const snap = mod instanceof TdxModule ? mod.snapshot() : undefined;
  const cpus: InspectCpu[] = p.cpus.map((c) => ({
    cpu: c.id,
    package: c.packageId,
    online: c.online,
    vmx: c.vmx,
    halted: c.halted,
    inSeam: c.inSeam,
    inNmi: c.inNmi,
    cache_state_incoherent: k?.cache_state_incoherent.get(c.id) ?? false,
    inStopMask: st?.cpus_stop_mask.has(c.id) ?? false,
    stopThisCpuRuns: st?.stopRuns.get(c.id) ?? 0,
    running: run.sched.frames(c).join(' > ') || 'idle',
    dirtyLines: [...c.cache.dirtyByKey().values()].reduce((a, b) => a + b, 0),
  }));
  const view: InspectView = {
    scenario: run.scenario.name,
    at: { requested, t, where },
    kernel:
      k === undefined || st === undefined || session === undefined
        ? null
        : { profile: k.profile.name, generation: session.machine.kernels.indexOf(k), tdx_module_status: k.tdx.tdx_module_status, kexec: { stopping_cpu: st.stopping_cpu, kexec_in_progress: st.kexec_in_progress, nmiHandlerRegistered: st.nmiHandlerRegistered, crashing: st.crashing } },
    cpus,
    module:
      snap === undefined
        ? null
        : {
            release: String(snap['version']),
            sysState: String(snap['sysState']),
            privateHkids: snap['privateHkids'] as number[],
            kot: Object.entries(snap['kot'] as Record<string, { state: string; wbinvdBitmap: number }>).map(([h, v]) => ({ hkid: Number(h), state: v.state, wbinvdBitmap: v.wbinvdBitmap })),
            tds: (snap['tds'] as { tdr: string; hkid: number; lifecycle: string }[]).map((t) => ({ tdr: t.tdr, hkid: t.hkid, lifecycle: t.lifecycle })),
          },
  };
  return { ...view, ...extras(run, req, snap) };
}

/** The sections asked for with --pamt, --cache and --line. */
function extras(run: ScenarioRun, req: InspectRequest, snap: Record<string, unknown> | undefined): Pick<InspectView, 'pamt' | 'cache' | 'line'> {
  const p = run.platform;
  const out: { -readonly [K in 'pamt' | 'cache' | 'line']?: InspectView[K] } = {};
  if (req.pamt !== undefined) {
    const { base, len } = req.pamt;
    out.pamt = { base: hex(base), len: hex(len), ranges: snap === undefined ? [{ base: hex(base), end: hex(base + len), pages: Math.ceil(len / 4096), pt: 'no PAMT (no TDX module)' }] : pamtRanges(snap, base, base + len) };
  }
  if (req.cache !== undefined) {
    if (req.cache >= p.cpus.length) {
      throw new TdxsimError('TDXSIM_BAD_ARGS', `--cache ${req.cache}: the platform has CPUs 0 to ${p.cpus.length - 1}`);
    }
    const c = p.cpu(req.cache);
    const ranges = c.cache.ranges().map((r) => ({ keyId: r.key, base: hex(r.start * LINE_SIZE), end: hex(r.end * LINE_SIZE), lines: r.end - r.start, dirty: r.seg.dirty, version: r.seg.ver, writer: r.seg.writer }));
    out.cache = { cpu: req.cache, lines: c.cache.lineCount, dirtyLines: ranges.filter((r) => r.dirty).reduce((a, r) => a + r.lines, 0), ranges };
  }
  if (req.line !== undefined) {
    const line = Math.floor(req.line / LINE_SIZE);
    const m = p.lineAt(req.line);
    const cached = p.cpus.flatMap((c) =>
      c.cache
        .keys()
        .sort((a, b) => a - b)
        .flatMap((key) => {
          const e = c.cache.lookup(key, line);
          return e === undefined ? [] : [{ cpu: c.id as number, keyId: key, dirty: e.seg.dirty, version: e.seg.ver, writer: e.seg.writer }];
        }),
    );
    out.line = { pa: hex(line * LINE_SIZE), memory: { keyId: m.key, tdOwned: m.td, poison: m.poison, version: m.ver, writer: m.writer }, cached };
  }
  return out;
}

function stepName(i: number, s: ScenarioStep): string {
  return `step ${i} (${s.op})`;
}

/**
 * Run the execution and look at the machine at `req.at`.
 * @throws TdxsimError for bad input: a step or time the run never reaches, a CPU that does not exist
 */
export function inspectScenario(req: InspectRequest): InspectView {
  const requested = describeMoment(req.at);
  let view: InspectView | undefined;
  let current = '';
  const take = (run: ScenarioRun, where: string, t: number = run.platform.nowNs): void => {
    if (view === undefined) {
      view = viewOf(run, req, requested, where, t);
    }
  };
  const at = req.at;
  const x = recordExecution(req, {
    scheduler(run) {
      if (at.kind === 'time') {
        // Called before each step of a CPU: the first CPU whose clock reached the time stops the world.
        run.sched.onStep((cpu) => {
          if (cpu.clockNs >= at.ns) {
            take(run, `during ${current}, as CPU ${cpu.id} reaches it`, cpu.clockNs);
          }
        });
      }
      if (at.kind === 'jump') {
        run.platform.tracer.subscribe((e) => {
          if (e.kind === 'mark' && e.label === 'kexec jump') {
            take(run, `during ${current}, as CPU ${e.cpu} jumps to the next kernel`);
          }
        });
      }
    },
    beforeStep(_run, i, s) {
      current = stepName(i, s);
    },
    afterStep(run, i, s) {
      if ((at.kind === 'step' && at.step === i) || (at.kind === 'time' && run.sched.now >= at.ns)) {
        take(run, `after ${stepName(i, s)}`);
      }
    },
  });
  if (at.kind === 'end') {
    take(x.run, 'after the last step');
  }
  if (view === undefined) {
    const steps = x.scenario.steps.length + (x.scenario.variants[0]?.steps.length ?? 0);
    const reach = at.kind === 'step' ? `the scenario has steps 0 to ${steps - 1}` : at.kind === 'time' ? `the run ends at t=${(x.run.sched.now / 1e9).toFixed(6)} s` : 'the run has no kexec or crash jump';
    throw new TdxsimError('TDXSIM_BAD_ARGS', `--at ${requested}: never reached: ${reach}`);
  }
  return view;
}
