/**
 * Pure layout of the report's sequence chart, computed in Node (and tested there) before the
 * page is written: which CPUs get a lane (grouped by package, alike and idle CPUs folded, so a
 * 480-CPU host stays a few dozen lanes tall), and the time axis with breaks over long quiet
 * stretches (the 1 s REBOOT wait). The functions marked "page" run in the browser too: the
 * renderer inlines their source, so they use nothing but their arguments.
 */
import type { ChartArrow, ExecutionModel } from '../api/report.js';

/** One lane of the chart: one CPU, or several folded into one. */
export interface ChartLane {
  readonly label: string;
  readonly pkg: number;
  /** The CPUs it stands for (the first is drawn). */
  readonly cpus: number[];
  readonly idle: boolean;
}

/** A linear piece of the time axis: [t0, t1] drawn from u0 on (1 u = 1 ns). */
export interface AxisPiece {
  readonly t0: number;
  readonly t1: number;
  readonly u0: number;
}

/** The chart's layout. */
export interface ChartLayout {
  readonly lanes: ChartLane[];
  /** Lane index of every CPU. */
  readonly laneOf: Record<number, number>;
  /** Linear pieces; between two pieces the axis is broken and the gap drawn `breakU` wide. */
  readonly pieces: AxisPiece[];
  readonly breakU: number;
  /** Total width in axis units. */
  readonly u: number;
  /** Arrows between lanes, duplicates into folded lanes dropped. */
  readonly arrows: (ChartArrow & { readonly fromLane: number; readonly toLane: number })[];
  /** Events drawn (those of each lane's first CPU), with their lane. */
  readonly events: (ExecutionModel['events'][number] & { readonly lane: number })[];
}

/** Most lanes a chart gets, whatever the CPU count. */
export const MAX_LANES = 40;
/** Most axis breaks. */
export const MAX_BREAKS = 12;

/** "1–3, 5, 7–9" for a sorted CPU list. */
export function cpuList(cpus: readonly number[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < cpus.length) {
    let j = i;
    while (j + 1 < cpus.length && (cpus[j + 1] as number) === (cpus[j] as number) + 1) {
      j++;
    }
    out.push(j === i ? String(cpus[i]) : `${cpus[i]}\u2013${cpus[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

/**
 * Lanes: per package, CPUs that did the same things (same events in the same order, ignoring
 * which CPU an IPI went to) share a lane, CPUs that did nothing share one "idle" lane; CPUs
 * that sent or took an NMI, jumped, or have a finding keep their own. Past `maxLanes`, the last
 * groups of the package with most lanes are merged.
 */
export function foldLanes(m: Pick<ExecutionModel, 'cpus' | 'events' | 'arrows' | 'findings'>, maxLanes = MAX_LANES): { lanes: ChartLane[]; laneOf: Record<number, number> } {
  const sig = new Map<number, string[]>();
  for (const e of m.events) {
    const s = sig.get(e.cpu) ?? [];
    s.push(`${e.kind}:${e.label.replace(/CPU \d+/g, 'CPU *')}`);
    sig.set(e.cpu, s);
  }
  const own = new Set<number>();
  for (const a of m.arrows) {
    if (a.nmi) {
      own.add(a.from);
      own.add(a.to);
    }
  }
  for (const e of m.events) {
    if (e.kind === 'kexec' || e.kind === 'stale-writeback' || e.kind === 'poison') {
      own.add(e.cpu);
    }
  }
  for (const f of m.findings) {
    if (f.cpu !== null) {
      own.add(f.cpu);
    }
  }
  const pkgs = [...new Set(m.cpus.map((c) => c.pkg))].sort((a, b) => a - b);
  type Group = { pkg: number; cpus: number[]; idle: boolean; own: boolean };
  const perPkg = new Map<number, Group[]>();
  for (const pkg of pkgs) {
    const groups: Group[] = [];
    const bySig = new Map<string, Group>();
    const idle: Group = { pkg, cpus: [], idle: true, own: false };
    for (const c of m.cpus.filter((x) => x.pkg === pkg).map((x) => x.cpu).sort((a, b) => a - b)) {
      const s = sig.get(c);
      if (s === undefined) {
        idle.cpus.push(c);
      } else if (own.has(c)) {
        groups.push({ pkg, cpus: [c], idle: false, own: true });
      } else {
        const key = s.join('|');
        const g = bySig.get(key);
        if (g === undefined) {
          const n: Group = { pkg, cpus: [c], idle: false, own: false };
          bySig.set(key, n);
          groups.push(n);
        } else {
          g.cpus.push(c);
        }
      }
    }
    if (idle.cpus.length > 0) {
      groups.push(idle);
    }
    perPkg.set(pkg, groups);
  }
  const count = (): number => [...perPkg.values()].reduce((n, g) => n + g.length, 0);
  while (count() > maxLanes) {
    const [, groups] = [...perPkg.entries()].reduce((best, cur) => (cur[1].length > best[1].length ? cur : best));
    // Merge the last two mergeable groups (not an own lane; idle only with idle).
    const idx = groups.map((g, i) => (g.own ? -1 : i)).filter((i) => i >= 0);
    if (idx.length < 2) {
      break;
    }
    const b = groups[idx[idx.length - 1] as number] as Group;
    const a = groups[idx[idx.length - 2] as number] as Group;
    a.cpus = [...a.cpus, ...b.cpus].sort((x, y) => x - y);
    a.idle = a.idle && b.idle;
    groups.splice(idx[idx.length - 1] as number, 1);
  }
  const lanes: ChartLane[] = [];
  const laneOf: Record<number, number> = {};
  const multiPkg = pkgs.length > 1;
  for (const pkg of pkgs) {
    for (const g of perPkg.get(pkg) ?? []) {
      const first = g.cpus[0] as number;
      const who = g.cpus.length === 1 ? `CPU ${first}` : `CPUs ${cpuList(g.cpus)}`;
      const what = g.idle ? ' idle' : g.cpus.length > 1 ? ` (${g.cpus.length}, as CPU ${first})` : '';
      for (const c of g.cpus) {
        laneOf[c] = lanes.length;
      }
      lanes.push({ label: `${multiPkg ? `P${pkg} ` : ''}${who}${what}`, pkg, cpus: g.cpus, idle: g.idle });
    }
  }
  return { lanes, laneOf };
}

/**
 * The time axis: the instants something happens split time into gaps; the `maxBreaks` longest
 * gaps that are much longer than the typical one (8 times the median) are broken and drawn as
 * wide as the longest gap kept, so a 1 s wait does not squeeze the milliseconds that matter.
 */
export function axisPieces(instants: readonly number[], maxBreaks = MAX_BREAKS): { pieces: AxisPiece[]; breakU: number; u: number } {
  const ts = [...new Set(instants)].sort((a, b) => a - b);
  if (ts.length < 2) {
    const t = ts[0] ?? 0;
    return { pieces: [{ t0: t, t1: t + 1, u0: 0 }], breakU: 0, u: 1 };
  }
  const gaps = ts.slice(1).map((t, i) => t - (ts[i] as number));
  const nonzero = gaps.filter((g) => g > 0).sort((a, b) => a - b);
  const median = nonzero[Math.floor(nonzero.length / 2)] ?? 1;
  const desc = [...nonzero].reverse();
  const cap = Math.max(8 * median, desc[maxBreaks] ?? 0);
  const broken = gaps.map((g) => g > cap);
  const breakU = Math.max(...gaps.filter((_, i) => !(broken[i] as boolean)), 0) || cap;
  const pieces: AxisPiece[] = [];
  let t0 = ts[0] as number;
  let u = 0;
  for (let i = 0; i < gaps.length; i++) {
    if (broken[i] as boolean) {
      const t1 = ts[i] as number;
      pieces.push({ t0, t1, u0: u });
      u += t1 - t0 + breakU;
      t0 = ts[i + 1] as number;
    }
  }
  const last = ts[ts.length - 1] as number;
  pieces.push({ t0, t1: last, u0: u });
  u += last - t0;
  return { pieces, breakU, u: Math.max(u, 1) };
}

/** Page: time to axis units (inside a break: proportionally across it). */
export function tToU(pieces: readonly AxisPiece[], breakU: number, t: number): number {
  let lo = 0;
  let hi = pieces.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((pieces[mid] as AxisPiece).t0 <= t) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  const p = pieces[lo] as AxisPiece;
  if (t <= p.t1 || lo === pieces.length - 1) {
    return p.u0 + (t - p.t0);
  }
  const n = pieces[lo + 1] as AxisPiece;
  return p.u0 + (p.t1 - p.t0) + ((t - p.t1) / (n.t0 - p.t1)) * breakU;
}

/** Page: axis units to time. */
export function uToT(pieces: readonly AxisPiece[], breakU: number, u: number): number {
  let lo = 0;
  let hi = pieces.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((pieces[mid] as AxisPiece).u0 <= u) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  const p = pieces[lo] as AxisPiece;
  const end = p.u0 + (p.t1 - p.t0);
  if (u <= end || lo === pieces.length - 1) {
    return p.t0 + (u - p.u0);
  }
  const n = pieces[lo + 1] as AxisPiece;
  return p.t1 + ((u - end) / breakU) * (n.t0 - p.t1);
}

/** Page: a round tick step (1, 2 or 5 times a power of ten) giving about `n` ticks over `span`. */
export function niceStep(span: number, n: number): number {
  const raw = span / Math.max(1, n);
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-9))));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/** Page: a round step for addresses (a power of two) giving about `n` ticks over `span`. */
export function niceStep2(span: number, n: number): number {
  const raw = span / Math.max(1, n);
  return Math.pow(2, Math.ceil(Math.log2(Math.max(raw, 1))));
}

/**
 * Page: a time in the unit of its size, with the decimals the tick step needs (`28.000 ms`,
 * `1.0330 s`, `120 ns`).
 */
export function fmtTime(t: number, step: number): string {
  const units: [number, string][] = [
    [1e9, 's'],
    [1e6, 'ms'],
    [1e3, 'µs'],
    [1, 'ns'],
  ];
  const size = Math.max(Math.abs(t), step);
  for (const [k, name] of units) {
    if (size >= k || k === 1) {
      const digits = Math.max(0, Math.min(9, Math.ceil(Math.log10(k / step) - 1e-9)));
      return `${(t / k).toFixed(digits)} ${name}`;
    }
  }
  return `${t} ns`;
}

/** Page: a duration, three significant figures (`1.00 s`, `26.0 ms`). */
export function fmtDuration(d: number): string {
  const units: [number, string][] = [
    [1e9, 's'],
    [1e6, 'ms'],
    [1e3, 'µs'],
  ];
  for (const [k, name] of units) {
    if (d >= k) {
      return `${(d / k).toPrecision(3)} ${name}`;
    }
  }
  return `${Math.round(d)} ns`;
}

/** The whole layout of one execution's chart. */
export function chartLayout(m: ExecutionModel, maxLanes = MAX_LANES): ChartLayout {
  const { lanes, laneOf } = foldLanes(m, maxLanes);
  const firstCpu = new Set(lanes.map((l) => l.cpus[0] as number));
  const events = m.events.filter((e) => e.cpu >= 0 && firstCpu.has(e.cpu) && laneOf[e.cpu] !== undefined).map((e) => ({ ...e, lane: laneOf[e.cpu] as number }));
  const instants: number[] = [0, m.tEnd];
  for (const e of m.events) {
    instants.push(e.t);
    if (e.end !== undefined) {
      instants.push(e.end);
    }
  }
  for (const a of m.arrows) {
    instants.push(a.t0, a.t1);
  }
  for (const f of m.findings) {
    instants.push(f.t);
  }
  for (const e of m.epochs) {
    instants.push(e.t0, e.t1);
  }
  const { pieces, breakU, u } = axisPieces(instants);
  // One arrow per (sender lane, receiver lane, vector) and stretch of the axis: 479 REBOOT IPIs
  // into folded lanes are a handful of arrows.
  const seen = new Set<string>();
  const arrows: ChartLayout['arrows'] = [];
  for (const a of m.arrows) {
    const fromLane = laneOf[a.from];
    const toLane = laneOf[a.to];
    if (fromLane === undefined || toLane === undefined) {
      continue;
    }
    const key = `${fromLane}|${toLane}|${a.vector}|${Math.floor((tToU(pieces, breakU, a.t0) / u) * 200)}`;
    if (!seen.has(key)) {
      seen.add(key);
      arrows.push({ ...a, fromLane, toLane });
    }
  }
  return { lanes, laneOf, pieces, breakU, u, arrows, events };
}
