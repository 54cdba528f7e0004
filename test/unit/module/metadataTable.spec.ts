/**
 * Global metadata against the 1.5.01 source (module audit rows 9, 10, 11, 12, 23): the table of
 * 65 entries in table order with the values metadata_sys.c gives, TDH.SYS.RD's next-id echo rule,
 * TDH.SYS.RDALL's sequence merging, and the CPUID_CONFIG / IA32_ARCH_CAPABILITIES values.
 * @see intel/tdx-module 1.5.01 (72d8cff) include/auto_gen/global_sys_fields_lookup.c,
 *   src/common/metadata_handlers/metadata_sys.c, metadata_generic.c
 */
import { describe, expect, it } from 'vitest';

import { cpuId } from '../../../src/base/ids.js';
import type { ModuleMachine } from '../../../src/machine/moduleMachine.js';
import { fieldId, MetadataTable } from '../../../src/module/metadata.js';
import type { ModuleProfileName } from '../../../src/module/profiles.js';
import { moduleProfile } from '../../../src/module/profiles.js';
import { preset } from '../../../src/platform/presets.js';
import { seamcallRegs as call, vmxModuleMachine } from '../../__test-helpers__/moduleMachine.js';

const NULL_ID = 0xffffffffffffffffn;

function mk(profile: ModuleProfileName = '1.5.01'): ModuleMachine {
  const m = vmxModuleMachine(preset('ref') as NonNullable<ReturnType<typeof preset>>, { module: profile });
  call(m, 0, { rax: 33n });
  call(m, 0, { rax: 35n });
  return m;
}
const rd = (m: ModuleMachine, id: bigint): { rax: bigint; rdx: bigint; r8: bigint } => {
  const r = call(m, 0, { rax: 34n, rdx: id });
  return { rax: r.rax, rdx: r.rdx, r8: r.r8 };
};

/** The 1.5.01 table in order: name, canonical id, fields × elements. */
const M1501: readonly (readonly [string, bigint, number])[] = [
  ['NUM_PKGS', 0x0000000200000000n, 1],
  ['PKG_FMS', 0x0000000200000001n, 8],
  ['VENDOR_ID', 0x0800000200000000n, 1],
  ['BUILD_DATE', 0x8800000200000001n, 1],
  ['BUILD_NUM', 0x8800000100000002n, 1],
  ['MINOR_VERSION', 0x0800000100000003n, 1],
  ['MAJOR_VERSION', 0x0800000100000004n, 1],
  ['UPDATE_VERSION', 0x0800000100000005n, 1],
  ['INTERNAL_VERSION', 0x0800000100000006n, 1],
  ['MODULE_HV', 0x8900000100000000n, 1],
  ['MIN_UPDATE_HV', 0x8900000100000001n, 1],
  ['NO_DOWNGRADE', 0x8900000000000002n, 1],
  ['NUM_HANDOFF_PAGES', 0x8900000100000003n, 1],
  ['HANDOFF_DATA_VALID', 0x8900000000000004n, 1],
  ['HANDOFF_DATA_HV', 0x8900000100000005n, 1],
  ['HANDOFF_DATA_SIZE', 0x8900000200000006n, 1],
  ['SYS_ATTRIBUTES', 0x0a00000200000000n, 1],
  ['NUM_TDX_FEATURES', 0x0a00000000000001n, 1],
  ['TDX_FEATURES0', 0x0a00000300000008n, 1],
  ['NUM_CMRS', 0x9000000100000000n, 1],
  ['CMR_BASE', 0x9000000300000080n, 32],
  ['CMR_SIZE', 0x9000000300000100n, 32],
  ['MAX_TDMRS', 0x9100000100000008n, 1],
  ['MAX_RESERVED_PER_TDMR', 0x9100000100000009n, 1],
  ['PAMT_4K_ENTRY_SIZE', 0x9100000100000010n, 1],
  ['PAMT_2M_ENTRY_SIZE', 0x9100000100000011n, 1],
  ['PAMT_1G_ENTRY_SIZE', 0x9100000100000012n, 1],
  ['TDR_BASE_SIZE', 0x9800000100000000n, 1],
  ['TDCS_BASE_SIZE', 0x9800000100000100n, 1],
  ['TDCS_SIZE_PER_L2_VM', 0x9800000100000101n, 1],
  ['TDVPS_BASE_SIZE', 0x9800000100000200n, 1],
  ['TDVPS_SIZE_PER_L2_VM', 0x9800000100000201n, 1],
  ['ATTRIBUTES_FIXED0', 0x1900000300000000n, 1],
  ['ATTRIBUTES_FIXED1', 0x1900000300000001n, 1],
  ['XFAM_FIXED0', 0x1900000300000002n, 1],
  ['XFAM_FIXED1', 0x1900000300000003n, 1],
  ['NUM_CPUID_CONFIG', 0x9900000100000004n, 1],
  ['CONFIG_FLAGS_FIXED0', 0x9900000300000006n, 1],
  ['CONFIG_FLAGS_FIXED1', 0x9900000300000007n, 1],
  ['CPUID_CONFIG_LEAVES', 0x9900000300000400n, 32],
  ['CPUID_CONFIG_VALUES', 0x9900000300000500n, 64],
  ['IA32_ARCH_CAPABILITIES_CONFIG_MASK', 0x9900000300000600n, 1],
  ['NUM_ALLOWED_FMS', 0x9900000100000800n, 1],
  ['NUM_DISALLOWED_FMS', 0x9900000100000801n, 1],
  ['ALLOWED_FMS', 0x9900000300000810n, 64],
  ['DISALLOWED_FMS', 0x9900000300000850n, 64],
  ['MIG_ATTRIBUTES', 0xa000000300000000n, 1],
  ['MIN_EXPORT_VERSION', 0x2000000100000001n, 1],
  ['MAX_EXPORT_VERSION', 0x2000000100000002n, 1],
  ['MIN_IMPORT_VERSION', 0x2000000100000003n, 1],
  ['MAX_IMPORT_VERSION', 0x2000000100000004n, 1],
  ['MAX_MIGS', 0xa000000100000010n, 1],
  ['NUM_IMMUTABLE_STATE_PAGES', 0xa000000000000020n, 1],
  ['NUM_TD_STATE_PAGES', 0xa000000000000021n, 1],
  ['NUM_VP_STATE_PAGES', 0xa000000000000022n, 1],
  ['MAX_SERV_TDS', 0xa100000100000000n, 1],
  ['SERVTD_ATTR_FIXED0', 0xa100000300000001n, 1],
  ['SERVTD_ATTR_FIXED1', 0xa100000300000002n, 1],
  ['GUEST_L2_GPA_ATTR_MASK', 0xa200000100000000n, 1],
  ['VM_CTLS_FIXED0', 0xa200000300000001n, 1],
  ['VM_CTLS_FIXED1', 0xa200000300000002n, 1],
  ['VCPU_L2_CTLS_FIXED0', 0xa200000300000003n, 1],
  ['VCPU_L2_CTLS_FIXED1', 0xa200000300000004n, 1],
  ['VCPU_L2_DEBUG_CTLS_FIXED0', 0xa200000300000005n, 1],
  ['VCPU_L2_DEBUG_CTLS_FIXED1', 0xa200000300000006n, 1],
];

describe('global metadata table (audit row 10)', () => {
  it('1.5.01 has the 65 entries of global_sys_fields_lookup.c in table order', () => {
    const t = new MetadataTable(moduleProfile('1.5.01'));
    expect(t.fields.map((f) => [f.name, fieldId(f), f.numFields * f.numElems])).toEqual(M1501);
  });
  it('1.5.05 inserts MAX_VCPUS_PER_TD after CONFIG_FLAGS_FIXED1 (66 entries); 1.5.28 adds PAMT_PAGE_BITMAP_ENTRY_BITS and MAX_EVENT_FILTERS', () => {
    const n5 = new MetadataTable(moduleProfile('1.5.05')).fields.map((f) => f.name);
    expect(n5.length).toBe(66);
    expect(n5.slice(38, 41)).toEqual(['CONFIG_FLAGS_FIXED1', 'MAX_VCPUS_PER_TD', 'CPUID_CONFIG_LEAVES']);
    const n28 = new MetadataTable(moduleProfile('1.5.28')).fields.map((f) => f.name);
    expect(n28.slice(26, 28)).toEqual(['PAMT_1G_ENTRY_SIZE', 'PAMT_PAGE_BITMAP_ENTRY_BITS']);
    expect(n28.slice(40, 43)).toEqual(['MAX_VCPUS_PER_TD', 'MAX_EVENT_FILTERS', 'CPUID_CONFIG_LEAVES']);
    // Fields whose values no stored source gives are left out: TDH.SYS.RD says FIELD_ID_INCORRECT.
    expect(n28).not.toContain('MIN_VIRT_MAXPA');
    expect(n28).not.toContain('MIN_DYNAMIC_PAMT_NUM_HKID_BITS');
  });
  it('TDH.SYS.RD reads the migration, service-TD and TD-partitioning fields with the source values', () => {
    const m = mk();
    const want: [bigint, bigint, bigint][] = [
      [0xa000000300000000n, 0n, 0x2000000100000001n],
      [0x2000000100000001n, 0n, 0x2000000100000002n],
      [0x2000000100000004n, 0n, 0xa000000100000010n],
      [0xa000000100000010n, 512n, 0xa000000000000020n],
      [0xa000000000000020n, 3n, 0xa000000000000021n],
      [0xa000000000000021n, 2n, 0xa000000000000022n],
      [0xa000000000000022n, 5n, 0xa100000100000000n],
      [0xa100000100000000n, 1n, 0xa100000300000001n],
      [0xa100000300000001n, 0x7ff00000001n, 0xa100000300000002n],
      [0xa100000300000002n, 0n, 0xa200000100000000n],
      [0xa200000100000000n, 0x807fn, 0xa200000300000001n],
      [0xa200000300000001n, 1n, 0xa200000300000002n],
      [0xa200000300000003n, 3n, 0xa200000300000004n],
      [0xa200000300000005n, 7n, 0xa200000300000006n],
      [0xa200000300000006n, 0n, NULL_ID],
    ];
    for (const [id, val, next] of want) {
      expect([id, rd(m, id)]).toEqual([id, { rax: 0n, r8: val, rdx: next }]);
    }
    // DISALLOWED_FMS[63] is no longer the last field.
    expect(rd(m, 0x9900000300000850n + 63n).rdx).toBe(0xa000000300000000n);
  });
});

describe('TDH.SYS.RD next id (audit row 11)', () => {
  it('inside an entry echoes the input id with field_code + 1 and context 0; across entries gives the canonical id', () => {
    const m = mk();
    // Element size code 0 instead of 3 (ignored by the lookup, echoed in RDX).
    expect(rd(m, 0x9000000000000080n)).toEqual({ rax: 0n, r8: expect.any(BigInt) as bigint, rdx: 0x9000000000000081n });
    // Non-arch bit clear, WRITE_MASK_VALID (51) and INC_SIZE (50) set, context code 5 (52-54).
    const odd = 0x1000000300000085n | (1n << 51n) | (1n << 50n) | (5n << 52n);
    expect(rd(m, odd).rdx).toBe(0x1000000300000086n | (1n << 51n) | (1n << 50n));
    // The last element of CMR_BASE read with an odd id: the next entry's canonical id.
    expect(rd(m, 0x100000000000009fn).rdx).toBe(0x9000000300000100n);
    // A single-element entry read with size code 0: the next entry's canonical id.
    expect(rd(m, 0x9100000000000008n).rdx).toBe(0x9100000100000009n);
  });
});

describe('TDH.SYS.RDALL sequences (audit row 12)', () => {
  it('merges fields of one class with contiguous codes, equal element count and size (md_dump_sequence)', () => {
    const m = mk();
    const r = call(m, 0, { rax: 37n, rdx: 0x10006000n, r8: NULL_ID });
    expect([r.rax, r.r8]).toEqual([0n, NULL_ID]);
    const l = m.platform.load(m.platform.cpu(cpuId(0)), 0x10006000, 4096, 0);
    if (!l.ok) {
      throw new Error('poison');
    }
    const dv = new DataView(l.bytes.buffer);
    const heads: bigint[] = [];
    let at = 8;
    for (let s = 0; s < dv.getUint16(2, true); s++) {
      const h = dv.getBigUint64(at, true);
      heads.push(h);
      at += 8 + 8 * (Number((h >> 34n) & 0xfn) + 1) * (Number((h >> 38n) & 0x1ffn) + 1);
    }
    expect(dv.getUint16(0, true)).toBe(at);
    const h = (id: bigint, lastField = 0n, lastElem = 0n): bigint => id | (lastElem << 34n) | (lastField << 38n);
    expect(heads).toEqual([
      h(0x0000000200000000n, 8n), // NUM_PKGS + PKG_FMS[0..7]
      h(0x0800000200000000n, 1n), // VENDOR_ID + BUILD_DATE (the non-arch bit is not compared)
      h(0x8800000100000002n, 4n), // BUILD_NUM .. INTERNAL_VERSION
      h(0x8900000100000000n, 1n), // MODULE_HV + MIN_UPDATE_HV
      h(0x8900000000000002n),
      h(0x8900000100000003n),
      h(0x8900000000000004n),
      h(0x8900000100000005n),
      h(0x8900000200000006n),
      h(0x0a00000200000000n),
      h(0x0a00000000000001n),
      h(0x0a00000300000008n),
      h(0x9000000100000000n),
      h(0x9000000300000080n, 31n),
      h(0x9000000300000100n, 31n),
      h(0x9100000100000008n, 1n), // 0x9100004100000008
      h(0x9100000100000010n, 2n), // 0x9100008100000010
      h(0x9800000100000000n),
      h(0x9800000100000100n, 1n),
      h(0x9800000100000200n, 1n),
      h(0x1900000300000000n, 3n), // ATTRIBUTES_FIXED0 .. XFAM_FIXED1
      h(0x9900000100000004n), // NUM_CPUID_CONFIG: same class, contiguous, but 16-bit
      h(0x9900000300000006n, 1n),
      h(0x9900000300000400n, 31n),
      h(0x9900000300000500n, 31n, 1n),
      h(0x9900000300000600n),
      h(0x9900000100000800n, 1n),
      h(0x9900000300000810n, 127n), // ALLOWED_FMS and DISALLOWED_FMS are contiguous
      h(0xa000000300000000n),
      h(0x2000000100000001n, 3n),
      h(0xa000000100000010n),
      h(0xa000000000000020n, 2n),
      h(0xa100000100000000n),
      h(0xa100000300000001n, 1n),
      h(0xa200000100000000n),
      h(0xa200000300000001n, 5n),
    ]);
    expect(heads[15]).toBe(0x9100004100000008n);
    expect(heads[16]).toBe(0x9100008100000010n);
  });
  it('resumes from R8 at a field inside a merged sequence', () => {
    const m = mk();
    const r = call(m, 0, { rax: 37n, rdx: 0x10006000n, r8: 0x9900000300000850n });
    expect(r.rax).toBe(0n);
    const l = m.platform.load(m.platform.cpu(cpuId(0)), 0x10006000, 16, 0);
    if (!l.ok) {
      throw new Error('poison');
    }
    const dv = new DataView(l.bytes.buffer);
    expect(dv.getBigUint64(8, true)).toBe(0x9900000300000850n | (63n << 38n));
  });
});

describe('CPUID_CONFIG and IA32_ARCH_CAPABILITIES values (audit rows 9, 23)', () => {
  it('IA32_ARCH_CAPABILITIES_CONFIG_MASK is 0x1180010 (SSB_NO, RRSBA, BHI_NO, PBRSB_NO)', () => {
    expect(rd(mk(), 0x9900000300000600n).r8).toBe(0x1180010n);
  });
  it('1.5.01 TDH.SYS.RD reports CONFIG_DIRECT only; 1.5.05 adds ALLOW_DIRECT & native', () => {
    const a = mk('1.5.01');
    expect(rd(a, 0x9900000300000500n).r8).toBe(0x00ff00000fff3fffn); // leaf 1 EAX/EBX
    expect(rd(a, 0x9900000300000501n).r8).toBe(0n); // leaf 1 ECX/EDX: ALLOW_DIRECT only
    expect(rd(a, 0x9900000300000500n + 2n * 12n).r8).toBe(0n); // past the 12 leaves
    const b = mk('1.5.05');
    expect(rd(b, 0x9900000300000500n).r8).toBe(0x00ff00000fff3fffn);
    expect(rd(b, 0x9900000300000501n).r8).toBe(0xb844000031044d88n);
  });
  it('TDH.SYS.INFO reports CONFIG_DIRECT | ALLOW_DIRECT & native in 1.5.01', () => {
    const m = mk('1.5.01');
    const r = call(m, 0, { rax: 32n, rcx: 0x10002000n, rdx: 1024n, r8: 0x10003000n, r9: 32n });
    expect(r.rax).toBe(0n);
    const l = m.platform.load(m.platform.cpu(cpuId(0)), 0x10002000, 1024, 0);
    if (!l.ok) {
      throw new Error('poison');
    }
    const dv = new DataView(l.bytes.buffer);
    expect(dv.getUint32(128, true)).toBe(12);
    expect([dv.getUint32(132, true), dv.getUint32(136, true), dv.getBigUint64(140, true), dv.getBigUint64(148, true)]).toEqual([1, 0xffffffff, 0x00ff00000fff3fffn, 0xb844000031044d88n]);
  });
});
