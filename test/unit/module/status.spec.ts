import { describe, expect, it } from 'vitest';

import { hex16 } from '../../../src/base/u64.js';
import { MetadataTable } from '../../../src/module/metadata.js';
import { moduleProfile } from '../../../src/module/profiles.js';
import { describeStatus, leafStatusDisplay, leafStatusName, OPERAND_ID, pamtOverlap, STATUS_TABLE, statusName, tdmrPamtCode, tdmrRsvdCode, TDX_INVALID_PAMT, TDX_INVALID_RESERVED_IN_TDMR, TDX_OPERAND_INVALID, withOperand } from '../../../src/module/status.js';

describe('status table', () => {
  it('holds every status of spec 4.2 once, with class and severity from the bits', () => {
    // 91 + 11 SEPT statuses of the runtime memory leaves (class 0x0B) + 5 Dynamic PAMT statuses (class 0x03)
    // + TDX_X2APIC_ID_NOT_UNIQUE (1.5.05).
    expect(STATUS_TABLE.length).toBe(108);
    expect(new Set(STATUS_TABLE.map((s) => s.name)).size).toBe(STATUS_TABLE.length);
    expect(new Set(STATUS_TABLE.map((s) => s.value)).size).toBe(STATUS_TABLE.length);
    for (const s of STATUS_TABLE) {
      expect(s.cls).toBe(Number((s.value >> 40n) & 0xffn));
      expect(s.value & 0xffff_ffffn).toBe(0n);
    }
    const by = (n: string): (typeof STATUS_TABLE)[number] => STATUS_TABLE.find((s) => s.name === n) as (typeof STATUS_TABLE)[number];
    expect([by('TDX_SYS_BUSY').severity, by('TDX_SYS_BUSY').recoverable]).toEqual(['recoverable', true]);
    expect(by('TDX_OPERAND_INVALID').severity).toBe('non-recoverable');
    expect(by('TDX_TD_FATAL').severity).toBe('fatal');
    expect(by('TDX_KEY_CONFIGURED').severity).toBe('warning');
    expect(hex16(by('TDX_NON_RECOVERABLE_TD').value)).toBe('0x6000000200000000');
  });
  it('builds and decodes packed codes', () => {
    expect(hex16(pamtOverlap(1, 2, 0))).toBe('0xc0000a1200000201');
    expect(hex16(tdmrPamtCode(TDX_INVALID_PAMT, 0, 2))).toBe('0xc0000a1000000200');
    expect(hex16(tdmrRsvdCode(TDX_INVALID_RESERVED_IN_TDMR, 0, 1))).toBe('0xc0000a2000000100');
    expect(describeStatus(pamtOverlap(3, 1, 2)).display).toBe('TDX_PAMT_OVERLAP(3, 2M, 2)');
    expect(describeStatus(withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RAX)).display).toBe('TDX_OPERAND_INVALID|RAX');
    expect(describeStatus(0x80000200000000bbn).display).toBe('TDX_OPERAND_BUSY|KET');
    expect(describeStatus(0xc00009200000003bn).display).toBe('TDX_INCONSISTENT_MSR|0x3b');
    expect(describeStatus(0xc000082500000800n).display).toBe('TDX_NUM_ACTIVATED_HKIDS_NOT_SUPPORTED|2048');
    expect(describeStatus(0x8000ff000000000dn).name).toBe('TDX_SEAMCALL_GP');
    expect(describeStatus(0x1234n).known).toBe(false);
    expect(statusName(0x00000a0300000000n)).toBe('TDX_TDMR_ALREADY_INITIALIZED');
  });
});

describe('metadata', () => {
  it('follows the M15 table order and next-field rule', () => {
    const t = new MetadataTable(moduleProfile('1.5.01'));
    const next = (id: bigint): bigint => {
      const f = t.lookup(id);
      if (f.kind !== 'ok') {
        throw new Error(f.kind);
      }
      return t.nextId(id, f.index, f.elem);
    };
    expect(next(0x9000000100000000n)).toBe(0x9000000300000080n); // NUM_CMRS → CMR_BASE[0]
    expect(next(0x9100000100000008n)).toBe(0x9100000100000009n);
    expect(next(0x9000000300000080n + 31n)).toBe(0x9000000300000100n);
    expect(next(0x9900000300000850n + 63n)).toBe(0xa000000300000000n); // DISALLOWED_FMS[63] → MIG_ATTRIBUTES
    expect(next(0xa200000300000006n)).toBe(0xffffffffffffffffn); // VCPU_L2_DEBUG_CTLS_FIXED1 is last
    expect(t.lookup(0x9900000100000008n).kind).toBe('incorrect');
    expect(t.lookup(0xffffffffffffffffn).kind).toBe('null');
    expect(t.lookup(0xff8fffffffffffffn).kind).toBe('null'); // context bits ignored
    // Element size, INC_SIZE, WRITE_MASK_VALID and NON_ARCH are ignored when matching.
    expect(t.lookup(0x1100000000000008n).kind).toBe('ok');
    expect(t.lookup(0x910c000100000008n).kind).toBe('ok');
  });
  it('late profile and overrides add MAX_VCPUS_PER_TD; overrides are checked', () => {
    expect(new MetadataTable(moduleProfile('1.5.06')).lookup(0x9900000100000008n).kind).toBe('ok');
    const o = new MetadataTable(moduleProfile('1.5.01'), { MAX_VCPUS_PER_TD: 128, MAX_TDMRS: 32 });
    expect(o.lookup(0x9900000100000008n).kind).toBe('ok');
    expect(MetadataTable.checkOverrides({ NOPE: 1, 'CMR_BASE[40]': 0, 'CMR_BASE[3]': 0 }).length).toBe(2);
  });
});

describe('TD exits of TDH.VP.ENTER', () => {
  it('are named by their status class with the exit reason, only for leaf 0', () => {
    expect(leafStatusName(0, 77n)).toBe('TDX_SUCCESS');
    expect(leafStatusDisplay(0, 77n)).toBe('TDX_SUCCESS, exit reason 77 (TDCALL)');
    expect(leafStatusDisplay(0, 0x6000_0002_0000_0030n)).toBe('TDX_NON_RECOVERABLE_TD, exit reason 48 (EPT violation)');
    expect(leafStatusDisplay(0, 0x6000_0002_0000_0005n)).toBe('TDX_NON_RECOVERABLE_TD, exit reason 5');
    // Another leaf, or an error class: the plain status table.
    expect(leafStatusName(1, 77n)).toBe('UNKNOWN_STATUS');
    expect(leafStatusName(0, 0n)).toBe('TDX_SUCCESS');
    expect(leafStatusDisplay(0, 0xc000_0100_0000_0001n)).toBe(describeStatus(0xc000_0100_0000_0001n).display);
  });
});
