/**
 * A tiny SEAM handler for kernel tests: just enough of the module's init leaves (state order,
 * per-package key config, TDMR.INIT progress) and the TD leaves (always succeed) to drive the
 * kernel, plus scripted statuses per leaf. The real module lives in src/module; this stub keeps
 * kernel tests independent of its progress and lets a test return any status it likes.
 */
import type { Prog } from '../../src/platform/Exec.js';
import type { SeamEnv, SeamHandler, SeamRegs } from '../../src/platform/Seam.js';

const G = 2 ** 30;
const M4 = 4 * 2 ** 20;

/** Statuses to return instead of running a leaf: leaf → queue (consumed one per call). */
export type Script = Map<number, bigint[]>;

/** Metadata the stub answers TDH.SYS.RD with (field id → value); absent ids fail. */
export function defaultFields(overrides: Record<string, bigint> = {}): Map<bigint, bigint> {
  const f = new Map<bigint, bigint>([
    [0x0800000100000003n, 5n],
    [0x0800000100000004n, 1n],
    [0x0800000100000005n, 6n],
    [0x0a00000300000008n, 0x2e1f0fbfn],
    [0x9100000100000008n, 64n],
    [0x9100000100000009n, 16n],
    [0x9100000100000010n, 16n],
    [0x9100000100000011n, 16n],
    [0x9100000100000012n, 16n],
    [0x9800000100000000n, 4096n],
    [0x9800000100000100n, 0x6000n],
    [0x9800000100000200n, 0x6000n],
    [0x1900000300000000n, 0x8000000070000001n],
    [0x1900000300000001n, 0n],
    [0x1900000300000002n, 0x6dbe7n],
    [0x1900000300000003n, 0x3n],
    [0x9900000100000004n, 2n],
    [0x9900000100000008n, 576n],
    [0x9900000300000400n, 1n],
    [0x9900000300000401n, 7n],
    [0x9900000300000500n, 0n],
    [0x9900000300000501n, 0n],
    [0x9900000300000502n, 0n],
    [0x9900000300000503n, 0n],
  ]);
  for (const [k, v] of Object.entries(overrides)) {
    f.set(BigInt(k), v);
  }
  return f;
}

/** One recorded SEAMCALL. */
export interface StubCall {
  readonly lp: number;
  readonly leaf: number;
  readonly rcx: bigint;
  readonly rdx: bigint;
  readonly r8: bigint;
}

/** The stub module. */
export class StubModule implements SeamHandler {
  readonly calls: StubCall[] = [];
  readonly script: Script = new Map();
  fields: Map<bigint, bigint> = defaultFields();
  state: 'PENDING' | 'SYSINIT_DONE' | 'SYSCONFIG_DONE' | 'READY' = 'PENDING';
  readonly lpInit = new Set<number>();
  readonly pkgDone = new Set<number>();
  /** TDMR base → next-to-initialize. */
  readonly tdmrs = new Map<number, { end: number; next: number }>();
  /** Raw TDH.SYS.CONFIG inputs: TDMR_INFO bytes as read from memory. */
  configInfos: Uint8Array[] = [];

  constructor(
    readonly lpPackage: (lp: number) => number,
    readonly nrPackages: number,
  ) {}

  /** Queue statuses for a leaf. */
  fail(leaf: number, ...statuses: bigint[]): void {
    this.script.set(leaf, [...(this.script.get(leaf) ?? []), ...statuses]);
  }

  *seamcall(regs: SeamRegs, env: SeamEnv): Prog<SeamRegs> {
    const leaf = Number(regs.rax & 0xffffn);
    this.calls.push({ lp: env.lp, leaf, rcx: regs.rcx, rdx: regs.rdx, r8: regs.r8 });
    const out = { ...regs };
    const q = this.script.get(leaf);
    if (q !== undefined && q.length > 0) {
      out.rax = q.shift() as SeamRegs['rax'];
      return out;
    }
    out.rax = this.run(leaf, regs, env, out) as SeamRegs['rax'];
    yield { op: 'tick', ns: 100 };
    return out;
  }

  private run(leaf: number, regs: SeamRegs, env: SeamEnv, out: SeamRegs): bigint {
    switch (leaf) {
      case 33:
        if (this.state !== 'PENDING') {
          return 0xc000050000000000n;
        }
        this.state = 'SYSINIT_DONE';
        return 0n;
      case 35:
        if (this.state !== 'SYSINIT_DONE') {
          return 0xc000050b00000000n;
        }
        this.lpInit.add(env.lp);
        return 0n;
      case 34: {
        out.rdx = 0xffffffffffffffffn as SeamRegs['rdx'];
        const v = this.fields.get(regs.rdx);
        if (v === undefined) {
          out.r8 = 0n as SeamRegs['r8'];
          return 0xc0000c0000000000n;
        }
        out.r8 = v as SeamRegs['r8'];
        return 0n;
      }
      case 45:
        return this.config(regs, env);
      case 31: {
        if (this.state !== 'SYSCONFIG_DONE') {
          return 0xc000050700000000n;
        }
        const pkg = this.lpPackage(env.lp);
        if (this.pkgDone.has(pkg)) {
          return 0x0000081500000000n;
        }
        this.pkgDone.add(pkg);
        if (this.pkgDone.size === this.nrPackages) {
          this.state = 'READY';
        }
        return 0n;
      }
      case 36: {
        const t = this.tdmrs.get(Number(regs.rcx));
        if (this.state !== 'READY') {
          return 0xc000050500000000n;
        }
        if (t === undefined) {
          return 0xc000010000000001n;
        }
        if (t.next >= t.end) {
          out.rdx = 0n as SeamRegs['rdx'];
          return 0x00000a0300000000n;
        }
        t.next += M4;
        out.rdx = BigInt(t.next - (t.next % G)) as SeamRegs['rdx'];
        return 0n;
      }
      case 40:
        return 0x0000082100000000n;
      default:
        return 0n;
    }
  }

  private config(regs: SeamRegs, env: SeamEnv): bigint {
    if (this.state !== 'SYSINIT_DONE') {
      return 0xc000050c00000000n;
    }
    const n = Number(regs.rdx);
    const arr = env.read(Number(regs.rcx), n * 8, 0);
    if (!arr.ok) {
      return 0xc000010000000001n;
    }
    const av = new DataView(arr.bytes.buffer, arr.bytes.byteOffset);
    this.configInfos = [];
    for (let i = 0; i < n; i++) {
      const pa = Number(av.getBigUint64(i * 8, true));
      const info = env.read(pa, 320, 0);
      if (!info.ok) {
        return 0xc000010000000001n;
      }
      this.configInfos.push(info.bytes);
      const iv = new DataView(info.bytes.buffer, info.bytes.byteOffset);
      const base = Number(iv.getBigUint64(0, true));
      const size = Number(iv.getBigUint64(8, true));
      this.tdmrs.set(base, { end: base + size, next: base });
    }
    this.state = 'SYSCONFIG_DONE';
    return 0n;
  }

  /** Leaves called, in order. */
  leaves(): number[] {
    return this.calls.map((c) => c.leaf);
  }
}
