/**
 * A small model of the guest a TD runs, interpreted by TDH.VP.ENTER. The guest's "code" is a
 * program in its own private memory, at the GPA the host gave TDH.VP.INIT as the initial RCX
 * (where a real TD's firmware finds its hand-off block). It is read through the TD's KeyID, so
 * the host can only put it there through TDH.MEM.PAGE.ADD (the initial image), as on hardware.
 *
 * A program is a sequence of 32-byte operations, four little-endian u64s `[op, a, b, c]`:
 * - `GUEST_OP.END` (0): the guest executes TDG.VP.VMCALL<Instruction.HLT> and halts; every later
 *   entry exits the same way.
 * - `GUEST_OP.ACCEPT` (1) `a` = GPA, `b` = size: TDG.MEM.PAGE.ACCEPT of every PENDING leaf in the
 *   range (the module zeroes the page with MOVDIR64B through the TD's KeyID, then maps it).
 *   Leaves that are absent, mapped or blocked are skipped (the guest sees an error status).
 * - `GUEST_OP.STORE` (2) `a` = GPA, `b` = size, `c` = fill byte | label << 8: ordinary stores
 *   through the TD's KeyID on the LP that runs the VCPU: dirty private lines in that LP's cache.
 *   The label only names the writer in the model's observations (`td<label>`, KVM's TD number;
 *   `td-hkid<HKID>` without one). A part of
 *   the range that is not mapped (absent, PENDING, blocked) is an EPT violation TD exit at its
 *   first GPA; the guest retries the operation on the next entry.
 * - `GUEST_OP.VMCALL` (3) `a` = R11 (sub-function), `b` = R12: TDG.VP.VMCALL, a synchronous TD
 *   exit to the host (RAX = 77).
 * A real guest accepts and touches page by page; the model does a range per operation (the
 * scale rule of docs/architecture.md section 4).
 * @see intel/tdx-module 1.5.01 (72d8cff) src/td_dispatcher/vm_exits/tdg_vp_vmcall.c,
 *   src/td_dispatcher/vm_exits/tdg_mem_page_accept.c, src/td_transitions/td_exit.c
 */
import type { SeamEnv } from '../platform/Seam.js';
import { septSpan } from './SecureEpt.js';
import { storeSepteRun } from './septLayout.js';
import type { TdState } from './tdState.js';
import { SEPT_STATE } from './tdState.js';

/** Guest operations. */
export const GUEST_OP = { END: 0, ACCEPT: 1, STORE: 2, VMCALL: 3 } as const;

/** Bytes per operation, and the most operations one program page holds. */
export const GUEST_OP_BYTES = 32;
export const GUEST_OPS_MAX = 4096 / GUEST_OP_BYTES;

/** VMX basic exit reasons the guest model produces. */
export const EXIT_REASON = { EPT_VIOLATION: 48, TDCALL: 77, HLT: 12 } as const;

/** How the guest left the TD: the registers the host sees besides RAX = exit reason. */
export interface GuestExit {
  readonly reason: number;
  readonly rcx: bigint;
  readonly rdx: bigint;
  readonly r8: bigint;
  readonly r10: bigint;
  readonly r11: bigint;
  readonly r12: bigint;
  /** Bytes the guest stored or accepted during this entry (for the time charged). */
  readonly bytes: number;
}

/** Encode a program for the guest model (a helper for hosts and tests). */
export function encodeGuestProgram(ops: readonly (readonly [number, bigint | number, (bigint | number)?, (bigint | number)?])[]): Uint8Array {
  const b = new Uint8Array(Math.max(1, ops.length) * GUEST_OP_BYTES);
  const dv = new DataView(b.buffer);
  ops.forEach((op, i) => {
    op.forEach((x, j) => dv.setBigUint64(i * GUEST_OP_BYTES + j * 8, BigInt(x ?? 0), true));
  });
  return b;
}

/** TDG.VMCALL's exit registers: R10 = 0 (GHCI standard), R11/R12 from the guest; RCX = GPR_SELECT. */
function vmcall(r11: bigint, r12: bigint, bytes: number): GuestExit {
  // GPR_SELECT: R10, R11, R12 passed to the host (bits 10-12).
  return { reason: EXIT_REASON.TDCALL, rcx: 0x1c00n, rdx: 0n, r8: 0n, r10: 0n, r11, r12, bytes };
}

/** An EPT violation at `gpa` (exit qualification: bit 1 write, bit 2 instruction fetch). */
function eptViolation(gpa: number, qual: bigint, bytes: number): GuestExit {
  return { reason: EXIT_REASON.EPT_VIOLATION, rcx: qual, rdx: 0n, r8: BigInt(gpa), r10: 0n, r11: 0n, r12: 0n, bytes };
}

/** The leaf mapping `gpa` and its level, if the walk reaches one. */
function leafAt(td: TdState, gpa: number): { level: number; pa: number; state: number } | undefined {
  for (let level = td.septRootLevel; level >= 0; level--) {
    const e = td.sept.get(level, gpa);
    if (e === undefined) {
      return undefined;
    }
    if (e.leaf) {
      return { level, pa: e.pa, state: e.state };
    }
    if (e.state !== SEPT_STATE.MAPPED) {
      return undefined;
    }
  }
  return undefined;
}

/** TDG.MEM.PAGE.ACCEPT over a range: each PENDING leaf is zeroed through the TD's KeyID and mapped. */
function accept(env: SeamEnv, td: TdState, gpa: number, size: number): number {
  let bytes = 0;
  for (let level = 0; level <= 2; level++) {
    for (const run of td.sept.leafRuns(level, gpa, gpa + size)) {
      if (run.state !== SEPT_STATE.PENDING) {
        continue;
      }
      env.movdir64b(run.pa, run.size, td.hkid, 0, 'tdx-module');
      td.sept.setRun(level, run.gpa, run.size, run.pa, SEPT_STATE.MAPPED);
      // tdg_mem_page_accept(): each accepted entry, now MAPPED, into its SEPT page.
      storeSepteRun(env, td, level, { ...run, state: SEPT_STATE.MAPPED });
      bytes += run.size;
    }
  }
  return bytes;
}

/** Private stores over a range; the first unmapped GPA (or -1) and the bytes stored. */
function store(env: SeamEnv, td: TdState, gpa: number, size: number, fill: number, writer: string): { fault: number; bytes: number } {
  // The mapped leaves of the range as runs of contiguous pages (one platform store per run).
  const runs = [0, 1, 2].flatMap((level) => td.sept.leafRuns(level, gpa, gpa + size)).sort((x, y) => x.gpa - y.gpa);
  let cursor = gpa;
  let bytes = 0;
  for (const run of runs) {
    const start = Math.max(run.gpa, cursor);
    const end = Math.min(run.gpa + run.size, gpa + size);
    if (end <= start) {
      continue;
    }
    if (start !== cursor || run.state !== SEPT_STATE.MAPPED || leafAt(td, start) === undefined) {
      return { fault: cursor, bytes };
    }
    env.fill(run.pa + (start - run.gpa), end - start, fill, td.hkid, writer);
    bytes += end - start;
    cursor = end;
  }
  return cursor >= gpa + size ? { fault: -1, bytes } : { fault: cursor, bytes };
}

/**
 * Run the guest from its current operation until it exits to the host. The store loop per run of
 * leaves keeps a 64 GiB guest to one platform call per contiguous mapping.
 */
export function runGuest(env: SeamEnv, td: TdState, g: { programGpa: number; pc: number; halted: boolean }): GuestExit {
  let bytes = 0;
  for (;;) {
    if (g.halted || g.pc >= GUEST_OPS_MAX) {
      g.halted = true;
      return vmcall(BigInt(EXIT_REASON.HLT), 0n, bytes);
    }
    const at = g.programGpa + g.pc * GUEST_OP_BYTES;
    const leaf = leafAt(td, at);
    if (leaf === undefined || leaf.state !== SEPT_STATE.MAPPED) {
      return eptViolation(at, 0x4n, bytes);
    }
    const rd = env.read(leaf.pa + (at % septSpan(leaf.level)), GUEST_OP_BYTES, td.hkid);
    if (!rd.ok) {
      g.halted = true;
      return vmcall(BigInt(EXIT_REASON.HLT), 0n, bytes);
    }
    const dv = new DataView(rd.bytes.buffer, rd.bytes.byteOffset, GUEST_OP_BYTES);
    const [op, a, b, c] = [0, 8, 16, 24].map((o) => dv.getBigUint64(o, true)) as [bigint, bigint, bigint, bigint];
    switch (Number(op)) {
      case GUEST_OP.ACCEPT:
        bytes += accept(env, td, Number(a), Number(b));
        break;
      case GUEST_OP.STORE: {
        const label = Number((c >> 8n) & 0xffff_ffffn);
        const s = store(env, td, Number(a), Number(b), Number(c & 0xffn), label === 0 ? `td-hkid${td.hkid}` : `td${label}`);
        bytes += s.bytes;
        if (s.fault >= 0) {
          return eptViolation(s.fault, 0x2n, bytes);
        }
        break;
      }
      case GUEST_OP.VMCALL:
        g.pc++;
        return vmcall(a, b, bytes);
      default:
        g.halted = true;
        return vmcall(BigInt(EXIT_REASON.HLT), 0n, bytes);
    }
    g.pc++;
  }
}
