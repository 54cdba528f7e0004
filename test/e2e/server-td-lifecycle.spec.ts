/**
 * One TD driven through `tdxsim serve --stdio` the way KVM 6.16+ drives the module, and nothing
 * but the server protocol: module bring-up as the host kernel does it (TDH.SYS.INIT, LP.INIT on
 * every LP, the TDH.SYS.RD metadata reads KVM depends on, SYS.CONFIG, SYS.KEY.CONFIG per package,
 * TDMR.INIT to the end), then the TD's life:
 *
 * - build (KVM_TDX_INIT_VM: `__tdx_td_init()`): MNG.CREATE with the first guest KeyID, MNG.KEY.CONFIG
 *   on the first LP of every package, MNG.ADDCX for TDCS_BASE_SIZE / 4 KiB pages, MNG.INIT with
 *   the TD_PARAMS `setup_tdparams()` fills;
 * - VCPU (KVM_TDX_INIT_VCPU: `tdx_td_vcpu_init()`): VP.CREATE, VP.ADDCX for each of
 *   TDVPS_BASE_SIZE / 4 KiB - 1 TDCX pages, VP.INIT version 1 (R8 = x2APIC ID = vcpu_id);
 * - initial memory (KVM_TDX_INIT_MEM_REGION): SEPT.ADD of the PDPT, PD and PT pages
 *   (`tdx_sept_link_private_spt()`), PAGE.ADD of the image, MR.EXTEND of its 16 256-byte chunks;
 * - KVM_TDX_FINALIZE_VM: MR.FINALIZE (RUNNABLE);
 * - KVM_RUN: VP.ENTER on the LP that ran VP.INIT; the guest model exits with TDG.VP.VMCALL
 *   (MapGPA of GPA 0x2000), KVM maps the page (`tdx_mem_page_aug()`: PAGE.AUG), re-enters, the
 *   guest accepts and writes it and halts (TDG.VP.VMCALL<HLT>);
 * - teardown as 6.16 orders it: every private page zapped while the HKID is still assigned
 *   (`tdx_sept_remove_private_spte()`: RANGE.BLOCK, `tdx_track()`: MEM.TRACK, PAGE.REMOVE,
 *   PHYMEM.PAGE.WBINVD of the page under the TD's HKID); `tdx_mmu_release_hkid()`: VP.FLUSH on the
 *   LP the VCPU last ran on, MNG.VPFLUSHDONE, PHYMEM.CACHE.WB on one LP per package, KEY.FREEID;
 *   then PHYMEM.PAGE.RECLAIM of the SEPT pages (`tdx_sept_free_private_spt()`), the TDCX pages and
 *   TDVPR (`tdx_vcpu_free()`), the TDCS pages and the TDR, and PHYMEM.PAGE.WBINVD of the TDR under
 *   the global KeyID (`tdx_reclaim_td_control_pages()`).
 *
 * Every reply's eleven registers are asserted, not just RAX: a leaf leaves the registers it does
 * not write as they came in, so each expectation is "the inputs, with these outputs".
 * @see linux arch/x86/kvm/vmx/tdx.c __tdx_td_init(), setup_tdparams(), tdx_td_vcpu_init(),
 *   tdx_sept_link_private_spt(), tdx_mem_page_aug(), tdx_sept_remove_private_spte(), tdx_track(),
 *   tdx_mmu_release_hkid(), tdx_vcpu_free(), tdx_reclaim_td_control_pages() (v6.16)
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_phymem_page_reclaim.c
 *   (RCX page type, RDX owner, R8 level), tdh_mem_page_remove.c (RCX removed PA),
 *   src/common/memory_handlers/pamt_manager.h (PT_TDR 4, PT_TDCX 5, PT_TDVPR 6, PT_EPT 8)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeGuestProgram, GUEST_OP } from '../../src/module/guest.js';
import { CFG_A, cfgA, encodeTdmrInfo, encodeU64s, toHex } from '../unit/module/cfgA.js';
import { ServerClient } from '../unit/module/serverClient.js';

const REGS = ['rax', 'rcx', 'rdx', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;
type Reg = (typeof REGS)[number];
type Regs = Partial<Record<Reg, bigint>>;

/** Leaf numbers (RAX bits 15:0; bits 23:16 the version). @see TDX module ABI 1.5 leaf table */
const LEAF = {
  VP_ENTER: 0n,
  MNG_ADDCX: 1n,
  MEM_PAGE_ADD: 2n,
  MEM_SEPT_ADD: 3n,
  VP_ADDCX: 4n,
  MEM_PAGE_AUG: 6n,
  MEM_RANGE_BLOCK: 7n,
  MNG_KEY_CONFIG: 8n,
  MNG_CREATE: 9n,
  VP_CREATE: 10n,
  MR_EXTEND: 16n,
  MR_FINALIZE: 17n,
  VP_FLUSH: 18n,
  MNG_VPFLUSHDONE: 19n,
  MNG_KEY_FREEID: 20n,
  MNG_INIT: 21n,
  VP_INIT: 22n,
  PHYMEM_PAGE_RECLAIM: 28n,
  MEM_PAGE_REMOVE: 29n,
  SYS_KEY_CONFIG: 31n,
  SYS_INIT: 33n,
  SYS_RD: 34n,
  SYS_LP_INIT: 35n,
  SYS_TDMR_INIT: 36n,
  MEM_TRACK: 38n,
  PHYMEM_CACHE_WB: 40n,
  PHYMEM_PAGE_WBINVD: 41n,
  SYS_CONFIG: 45n,
} as const;

/** TDH.VP.INIT version 1: R8 = the VCPU's x2APIC ID (Linux tdh_vp_init() since 6.16). */
const VP_INIT_V1 = LEAF.VP_INIT | (1n << 16n);

/** Global metadata field ids KVM reads (arch/x86/virt/vmx/tdx/tdx_global_metadata.c, 6.16). */
const MD = {
  TDX_FEATURES0: 0x0a00000300000008n,
  TDCS_BASE_SIZE: 0x9800000100000100n,
  TDVPS_BASE_SIZE: 0x9800000100000200n,
  ATTRIBUTES_FIXED1: 0x1900000300000001n,
  XFAM_FIXED1: 0x1900000300000003n,
  MAX_VCPUS_PER_TD: 0x9900000100000008n,
} as const;

/** TDX_FEATURES0.TOPOLOGY_ENUM: KVM 6.16+ refuses a module without it (__tdx_bringup()). */
const TOPOLOGY_ENUM = 1n << 20n;

/** Statuses. @see TDX module ABI 1.5 section 4.2; linux arch/x86/include/asm/shared/tdx_errno.h */
const TDX_SUCCESS = 0n;
const TDX_FLUSHVP_NOT_DONE = 0x8000082400000000n;
const TDX_VCPU_NOT_ASSOCIATED = 0x8000070200000000n;
/** VMX basic exit reasons in RAX bits 31:0 of a TD exit: TDCALL (77), HLT (12). */
const EXIT_REASON_TDCALL = 77n;
const EXIT_REASON_HLT = 12n;
/** GHCI TDG.VP.VMCALL sub-function MapGPA (R11). */
const TDVMCALL_MAP_GPA = 0x10001n;

/** The ref preset: LPs 0-1 on package 0, 2-3 on package 1; KeyID bits start at PA bit 46. */
const KEYID_SHIFT = 46n;
const GLOBAL_KEYID = 32n; // TDH.SYS.CONFIG R8: the first private KeyID
const HKID = 33n; // tdx_guest_keyid_alloc(): the next one

/** Host pages the "kernel" hands the module (all in TDMR 0, outside its reserved areas). */
const TDR = 0x40000000n;
const TDCS = [1, 2, 3, 4, 5, 6].map((i) => TDR + BigInt(i * 0x1000));
const TDVPR = 0x40008000n;
const TDCX = [1, 2, 3, 4, 5].map((i) => TDVPR + BigInt(i * 0x1000));
/** SEPT pages for levels 3 (PDPT), 2 (PD) and 1 (PT) over GPA 0. */
const SEPT_L3 = 0x40010000n;
const SEPT_L2 = 0x40011000n;
const SEPT_L1 = 0x40012000n;
const IMAGE = 0x40014000n; // GPA 0x1000 (PAGE.ADD)
const AUGED = 0x40015000n; // GPA 0x2000 (PAGE.AUG)
/** Shared host pages: TD_PARAMS and the image's source page. */
const TD_PARAMS_PA = 0x10004000n;
const SOURCE_PA = 0x10005000n;
const IMAGE_GPA = 0x1000n;
const AUG_GPA = 0x2000n;

/** keyed PA: `pa | keyid << 46` (Linux mk_keyed_paddr()). */
const keyed = (pa: bigint, keyid: bigint): bigint => pa | (keyid << KEYID_SHIFT);

/**
 * The TD_PARAMS KVM's setup_tdparams() writes for this TD: ATTRIBUTES 0 (| ATTRIBUTES_FIXED1),
 * XFAM x87|SSE (| XFAM_FIXED1), MAX_VCPUS = the platform's 4 present CPUs, EPTP_CONTROLS WB |
 * 4-level walk (6 | 3 << 3), CONFIG_FLAGS NO_RBP_MOD (bit 2), TSC_FREQUENCY 2.5 GHz in 25 MHz
 * units (100), every CPUID_CONFIG value 0 (a VMM that configures none of the configurable bits).
 * @see linux arch/x86/kvm/vmx/tdx_arch.h struct td_params, TDX_CONFIG_FLAGS_NO_RBP_MOD,
 *   TDX_TSC_KHZ_TO_25MHZ(); tdx.c setup_tdparams(), setup_tdparams_eptp_controls() (v6.16)
 */
function kvmTdParams(maxVcpus: number): Uint8Array {
  const b = new Uint8Array(1024);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, 0n, true); // ATTRIBUTES
  v.setBigUint64(8, 0x3n, true); // XFAM
  v.setUint16(16, maxVcpus, true); // MAX_VCPUS
  v.setBigUint64(24, 6n | (3n << 3n), true); // EPTP_CONTROLS
  v.setBigUint64(32, 1n << 2n, true); // CONFIG_FLAGS
  v.setUint16(40, 100, true); // TSC_FREQUENCY
  return b;
}

const hex = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;

/** A SEAMCALL reply: outcome, status name and all eleven registers. */
interface Out {
  outcome: string;
  statusName: string;
  regs: Record<Reg, bigint>;
}

let client: ServerClient;
let machine = '';

async function seam(lp: number, regs: Regs): Promise<Out> {
  const r = await client.call('seamcall', { machine, lp, regs: Object.fromEntries(Object.entries(regs).map(([k, v]) => [k, hex(v)])) });
  const got = r['regs'] as Record<string, string>;
  return { outcome: r['outcome'] as string, statusName: r['statusName'] as string, regs: Object.fromEntries(REGS.map((n) => [n, BigInt(got[n] ?? 'NaN')])) as Record<Reg, bigint> };
}

/** The full register file expected back: the inputs (absent ones 0), RAX = status, then `outs`. */
function expected(input: Regs, status: bigint, outs: Regs = {}): Record<Reg, string> {
  return Object.fromEntries(REGS.map((n) => [n, hex(n === 'rax' ? status : (outs[n] ?? input[n] ?? 0n))])) as Record<Reg, string>;
}

/** Issue a SEAMCALL and assert its outcome, status name and all eleven registers. */
async function expectCall(lp: number, input: Regs, status: bigint, statusName: string, outs: Regs = {}): Promise<void> {
  const o = await seam(lp, input);
  const what = `lp ${lp} leaf ${input.rax} rcx ${hex(input.rcx ?? 0n)}`;
  expect([o.outcome, o.statusName], what).toEqual(['ok', statusName]);
  expect(Object.fromEntries(REGS.map((n) => [n, hex(o.regs[n])])), what).toEqual(expected(input, status, outs));
}

/** The TD's KOT entry (machine.state). */
async function kot(): Promise<unknown> {
  return ((await client.call('machine.state', { machine }))['kot'] as Record<string, unknown>)[HKID.toString()];
}

async function write(pa: bigint, data: Uint8Array): Promise<void> {
  expect(await client.call('mem.write', { machine, pa: hex(pa), data: toHex(data) })).toEqual({ written: data.length });
}

beforeAll(async () => {
  client = new ServerClient();
  const m = await client.call('machine.create', { platform: 'ref', module: '1.5.06' });
  expect([m['lps'], m['packages'], m['module'], m['keyIdShift'], m['privateKeyIds']]).toEqual([4, 2, '1.5.06', 46, [32, 63]]);
  machine = m['machine'] as string;
});
afterAll(async () => {
  expect(await client.close()).toBe(0);
});

describe('a TD built, run and torn down through tdxsim serve the way KVM 6.16+ does it (ref, module 1.5.06)', () => {
  let tdcsPages = 0;
  let tdcxPages = 0;

  it('brings the module up as the host kernel does and reads the metadata KVM needs', async () => {
    await expectCall(0, { rax: LEAF.SYS_INIT }, TDX_SUCCESS, 'TDX_SUCCESS');
    for (let lp = 0; lp < 4; lp++) {
      await expectCall(lp, { rax: LEAF.SYS_LP_INIT }, TDX_SUCCESS, 'TDX_SUCCESS');
    }
    // TDH.SYS.RD: R8 = the value, RDX = the next field id (the next field of the table).
    const rd = async (field: bigint, value: bigint, next: bigint): Promise<void> => expectCall(0, { rax: LEAF.SYS_RD, rdx: field }, TDX_SUCCESS, 'TDX_SUCCESS', { rdx: next, r8: value });
    await rd(MD.TDX_FEATURES0, 0x2e1f0fbfn, 0x9000000100000000n);
    expect(0x2e1f0fbfn & TOPOLOGY_ENUM).toBe(TOPOLOGY_ENUM);
    await rd(MD.TDCS_BASE_SIZE, 0x6000n, 0x9800000100000101n);
    await rd(MD.TDVPS_BASE_SIZE, 0x6000n, 0x9800000100000201n);
    await rd(MD.ATTRIBUTES_FIXED1, 0n, 0x1900000300000002n);
    await rd(MD.XFAM_FIXED1, 0x3n, 0x9900000100000004n);
    await rd(MD.MAX_VCPUS_PER_TD, 576n, 0x9900000300000400n);
    // KVM: tdcs_nr_pages = TDCS_BASE_SIZE / 4 KiB; tdcx_nr_pages = TDVPS_BASE_SIZE / 4 KiB - 1.
    tdcsPages = 0x6000 / 4096;
    tdcxPages = 0x6000 / 4096 - 1;
    expect([tdcsPages, tdcxPages, TDCS.length, TDCX.length]).toEqual([6, 5, 6, 5]);
    // CFG-A: two TDMRs, PAMTs in reserved areas; the address array at 0x10001000.
    const [t0, t1] = cfgA();
    await write(BigInt(CFG_A.info0), encodeTdmrInfo(t0));
    await write(BigInt(CFG_A.info1), encodeTdmrInfo(t1));
    await write(BigInt(CFG_A.array), encodeU64s([BigInt(CFG_A.info0), BigInt(CFG_A.info1)]));
    await expectCall(0, { rax: LEAF.SYS_CONFIG, rcx: BigInt(CFG_A.array), rdx: 2n, r8: GLOBAL_KEYID }, TDX_SUCCESS, 'TDX_SUCCESS');
    await expectCall(0, { rax: LEAF.SYS_KEY_CONFIG }, TDX_SUCCESS, 'TDX_SUCCESS');
    await expectCall(2, { rax: LEAF.SYS_KEY_CONFIG }, TDX_SUCCESS, 'TDX_SUCCESS');
    // TDMR.INIT: RDX = where initialization got to; 1 GiB per call... until the TDMR's end.
    for (const [base, size, calls] of [
      [0n, 0x80000000n, 512],
      [0x100000000n, 0x100000000n, 1024],
    ] as const) {
      let n = 0;
      let rdx = 0n;
      do {
        const o = await seam(0, { rax: LEAF.SYS_TDMR_INIT, rcx: base });
        expect([o.outcome, o.regs.rax, o.regs.rcx]).toEqual(['ok', 0n, base]);
        rdx = o.regs.rdx;
        n++;
      } while (rdx < base + size && n < 4096);
      expect([n, rdx]).toEqual([calls, base + size]);
    }
  });

  it('builds the TD: MNG.CREATE, MNG.KEY.CONFIG per package, MNG.ADDCX, MNG.INIT', async () => {
    await expectCall(0, { rax: LEAF.MNG_CREATE, rcx: TDR, rdx: HKID }, TDX_SUCCESS, 'TDX_SUCCESS');
    await expectCall(0, { rax: LEAF.MNG_KEY_CONFIG, rcx: TDR }, TDX_SUCCESS, 'TDX_SUCCESS');
    await expectCall(2, { rax: LEAF.MNG_KEY_CONFIG, rcx: TDR }, TDX_SUCCESS, 'TDX_SUCCESS');
    for (const pa of TDCS) {
      await expectCall(0, { rax: LEAF.MNG_ADDCX, rcx: pa, rdx: TDR }, TDX_SUCCESS, 'TDX_SUCCESS');
    }
    await write(TD_PARAMS_PA, kvmTdParams(4));
    // RCX is an output (the CPUID leaf of a CPUID_CONFIG error): 0 on success.
    await expectCall(0, { rax: LEAF.MNG_INIT, rcx: TDR, rdx: TD_PARAMS_PA }, TDX_SUCCESS, 'TDX_SUCCESS', { rcx: 0n });
  });

  it('creates and initializes the VCPU: VP.CREATE, VP.ADDCX per TDCX page, VP.INIT version 1', async () => {
    await expectCall(0, { rax: LEAF.VP_CREATE, rcx: TDVPR, rdx: TDR }, TDX_SUCCESS, 'TDX_SUCCESS');
    for (const pa of TDCX) {
      await expectCall(0, { rax: LEAF.VP_ADDCX, rcx: pa, rdx: TDVPR }, TDX_SUCCESS, 'TDX_SUCCESS');
    }
    // RDX = the VCPU's initial RCX (KVM_TDX_INIT_VCPU data): where the guest finds its program.
    await expectCall(0, { rax: VP_INIT_V1, rcx: TDVPR, rdx: IMAGE_GPA, r8: 0n }, TDX_SUCCESS, 'TDX_SUCCESS');
  });

  it('adds and measures the initial image, then finalizes: SEPT.ADD, PAGE.ADD, MR.EXTEND, MR.FINALIZE', async () => {
    // SEPT.ADD: RCX = GPA | level; RCX/RDX come back as the SEPT entry and level/state (0 on success).
    for (const [level, page] of [
      [3n, SEPT_L3],
      [2n, SEPT_L2],
      [1n, SEPT_L1],
    ] as const) {
      await expectCall(0, { rax: LEAF.MEM_SEPT_ADD, rcx: level, rdx: TDR, r8: page }, TDX_SUCCESS, 'TDX_SUCCESS', { rcx: 0n, rdx: 0n });
    }
    // The guest's program: MapGPA of GPA 0x2000 (TDG.VP.VMCALL), then accept it, write it, halt.
    const image = new Uint8Array(4096);
    image.set(
      encodeGuestProgram([
        [GUEST_OP.VMCALL, TDVMCALL_MAP_GPA, AUG_GPA],
        [GUEST_OP.ACCEPT, AUG_GPA, 0x1000],
        [GUEST_OP.STORE, AUG_GPA, 0x1000, 0x5a],
        [GUEST_OP.END, 0],
      ]),
    );
    await write(SOURCE_PA, image);
    await expectCall(0, { rax: LEAF.MEM_PAGE_ADD, rcx: IMAGE_GPA, rdx: TDR, r8: IMAGE, r9: SOURCE_PA }, TDX_SUCCESS, 'TDX_SUCCESS', { rcx: 0n, rdx: 0n });
    for (let off = 0n; off < 0x1000n; off += 0x100n) {
      await expectCall(0, { rax: LEAF.MR_EXTEND, rcx: IMAGE_GPA + off, rdx: TDR }, TDX_SUCCESS, 'TDX_SUCCESS', { rcx: 0n, rdx: 0n });
    }
    await expectCall(0, { rax: LEAF.MR_FINALIZE, rcx: TDR }, TDX_SUCCESS, 'TDX_SUCCESS');
  });

  it('runs the TD: VP.ENTER exits on TDG.VP.VMCALL, PAGE.AUG maps the page, the guest accepts it and halts', async () => {
    // TD exit: RAX bits 63:32 TDX_SUCCESS, bits 31:0 the exit reason (the status table has no
    // name for that value: statusName UNKNOWN_STATUS). RCX = GPR select mask of R10-R12.
    await expectCall(0, { rax: LEAF.VP_ENTER, rcx: TDVPR }, EXIT_REASON_TDCALL, 'UNKNOWN_STATUS', { rcx: 0x1c00n, r10: 0n, r11: TDVMCALL_MAP_GPA, r12: AUG_GPA });
    await expectCall(0, { rax: LEAF.MEM_PAGE_AUG, rcx: AUG_GPA, rdx: TDR, r8: AUGED }, TDX_SUCCESS, 'TDX_SUCCESS', { rcx: 0n, rdx: 0n });
    await expectCall(0, { rax: LEAF.VP_ENTER, rcx: TDVPR }, EXIT_REASON_TDCALL, 'UNKNOWN_STATUS', { rcx: 0x1c00n, r10: 0n, r11: EXIT_REASON_HLT, r12: 0n });
    // The guest wrote GPA 0x2000 through the TD's KeyID: the host reads zeros (TD-owned lines).
    expect((await client.call('mem.read', { machine, pa: hex(AUGED), len: 8 }))['data']).toBe('0000000000000000');
  });

  it('zaps private memory while the HKID is assigned: RANGE.BLOCK, MEM.TRACK, PAGE.REMOVE, PAGE.WBINVD per page', async () => {
    for (const [gpa, pa] of [
      [IMAGE_GPA, IMAGE],
      [AUG_GPA, AUGED],
    ] as const) {
      await expectCall(0, { rax: LEAF.MEM_RANGE_BLOCK, rcx: gpa, rdx: TDR }, TDX_SUCCESS, 'TDX_SUCCESS', { rcx: 0n, rdx: 0n });
      await expectCall(0, { rax: LEAF.MEM_TRACK, rcx: TDR }, TDX_SUCCESS, 'TDX_SUCCESS');
      // RCX = the removed page's PA, RDX zeroed.
      await expectCall(0, { rax: LEAF.MEM_PAGE_REMOVE, rcx: gpa, rdx: TDR }, TDX_SUCCESS, 'TDX_SUCCESS', { rcx: pa, rdx: 0n });
      await expectCall(0, { rax: LEAF.PHYMEM_PAGE_WBINVD, rcx: keyed(pa, HKID) }, TDX_SUCCESS, 'TDX_SUCCESS');
    }
  });

  it('releases the HKID: VPFLUSHDONE refuses before VP.FLUSH, VP.FLUSH on the LP the VCPU ran on, CACHE.WB per package, KEY.FREEID', async () => {
    // The negative: the VCPU is still associated with LP 0.
    await expectCall(0, { rax: LEAF.MNG_VPFLUSHDONE, rcx: TDR }, TDX_FLUSHVP_NOT_DONE, 'TDX_FLUSHVP_NOT_DONE');
    // VP.FLUSH on an LP the VCPU is not associated with (KVM tolerates this status).
    await expectCall(1, { rax: LEAF.VP_FLUSH, rcx: TDVPR }, TDX_VCPU_NOT_ASSOCIATED, 'TDX_VCPU_NOT_ASSOCIATED');
    await expectCall(0, { rax: LEAF.VP_FLUSH, rcx: TDVPR }, TDX_SUCCESS, 'TDX_SUCCESS');
    expect(await kot()).toEqual({ state: 'HKID_ASSIGNED', wbinvdBitmap: 0 });
    await expectCall(0, { rax: LEAF.MNG_VPFLUSHDONE, rcx: TDR }, TDX_SUCCESS, 'TDX_SUCCESS');
    // HKID_FLUSHED: one bit per package whose caches still need TDH.PHYMEM.CACHE.WB.
    expect(await kot()).toEqual({ state: 'HKID_FLUSHED', wbinvdBitmap: 3 });
    await expectCall(0, { rax: LEAF.PHYMEM_CACHE_WB, rcx: 0n }, TDX_SUCCESS, 'TDX_SUCCESS');
    expect(await kot()).toEqual({ state: 'HKID_FLUSHED', wbinvdBitmap: 2 });
    await expectCall(2, { rax: LEAF.PHYMEM_CACHE_WB, rcx: 0n }, TDX_SUCCESS, 'TDX_SUCCESS');
    expect(await kot()).toEqual({ state: 'HKID_FLUSHED', wbinvdBitmap: 0 });
    await expectCall(0, { rax: LEAF.MNG_KEY_FREEID, rcx: TDR }, TDX_SUCCESS, 'TDX_SUCCESS');
  });

  it('reclaims every page (RCX page type, RDX owner, R8 level) and flushes the TDR under the global KeyID', async () => {
    const PT_TDR = 4n;
    const PT_TDCX = 5n;
    const PT_TDVPR = 6n;
    const PT_EPT = 8n;
    const pages: [bigint, bigint, bigint][] = [
      // tdx_sept_free_private_spt(): the SEPT pages, leaf tables first.
      [SEPT_L1, PT_EPT, TDR],
      [SEPT_L2, PT_EPT, TDR],
      [SEPT_L3, PT_EPT, TDR],
      // tdx_vcpu_free(): TDCX pages, then the TDVPR.
      ...TDCX.map((pa): [bigint, bigint, bigint] => [pa, PT_TDCX, TDR]),
      [TDVPR, PT_TDVPR, TDR],
      // tdx_reclaim_td_control_pages(): TDCS pages (PT_TDCX), then the TDR, which owns itself (0).
      ...TDCS.map((pa): [bigint, bigint, bigint] => [pa, PT_TDCX, TDR]),
      [TDR, PT_TDR, 0n],
    ];
    for (const [pa, pt, owner] of pages) {
      await expectCall(0, { rax: LEAF.PHYMEM_PAGE_RECLAIM, rcx: pa }, TDX_SUCCESS, 'TDX_SUCCESS', { rcx: pt, rdx: owner, r8: 0n });
    }
    await expectCall(0, { rax: LEAF.PHYMEM_PAGE_WBINVD, rcx: keyed(TDR, GLOBAL_KEYID) }, TDX_SUCCESS, 'TDX_SUCCESS');
    const st = await client.call('machine.state', { machine });
    const mod = st['module'] as { tds: unknown[] };
    expect(mod.tds).toEqual([]);
    // Only the global KeyID's entry is left: the TD's HKID is free again.
    expect(st['kot']).toEqual({ '32': { state: 'HKID_RESERVED', wbinvdBitmap: 0 } });
  });
});
