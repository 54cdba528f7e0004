import { describe, expect, it } from 'vitest';

import { isTdxsimError } from '../../../src/api/errors.js';
import { explain, explainStatus } from '../../../src/tools/explain.js';
import { parseLeafArg, parseStatusArg } from '../../../src/tools/parse/status.js';
import { STATUS_TABLE, SW_STATUS_TABLE, msrCode, pamtOverlap, TDX_INCONSISTENT_MSR, TDX_INCORRECT_MSR_VALUE } from '../../../src/module/status.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isTdxsimError(e)) {
      return e.code;
    }
    throw e;
  }
  throw new Error('expected a TdxsimError');
}

describe('explain: statuses from the module table', () => {
  it('SYS_INIT_NOT_PENDING: name, class, severity, kexec as the cause', () => {
    const r = explain({ status: '0xC000050000000000' });
    expect(r.name).toBe('TDX_SYS_INIT_NOT_PENDING');
    expect(r.class).toEqual({ id: 5, hex: '0x05', name: 'system state' });
    expect(r.severity).toBe('non-recoverable');
    expect(r.recoverable).toBe(false);
    expect(r.fatal).toBe(true);
    expect(r.causes.join(' ')).toContain('kexec');
    expect(r.causes.join(' ')).toContain('not in initial state');
    expect(r.linux).toMatchObject({ errno: -5, errnoName: '-EIO', printed: true });
  });

  it('hex without 0x, with underscores, or a status name', () => {
    expect(explain({ status: 'c000050000000000' }).name).toBe('TDX_SYS_INIT_NOT_PENDING');
    expect(explain({ status: '0xc000_0505_0000_0000' }).name).toBe('TDX_SYS_NOT_READY');
    expect(explain({ status: 'TDX_SYS_BUSY' }).value).toBe('0x8000020200000000');
    expect(explain({ status: 'tdx_rnd_no_entropy' }).recoverable).toBe(true);
  });

  it('packed TDMR/PAMT details: PAMT_OVERLAP(i, pt, j)', () => {
    const r = explainStatus(pamtOverlap(1, 2, 0), 45n);
    expect(r.display).toBe('TDX_PAMT_OVERLAP(1, 1G, 0)');
    expect(r.operand?.fields).toEqual({ tdmr: 1, pamt: '1G', otherTdmr: 0 });
    expect(r.operand?.text).toContain('1G PAMT of TDMR 1 overlaps TDMR 0');
    expect(r.checking).toContain('TDMR j');
    expect(explain({ status: '0xc0000a2100000100' }).display).toBe('TDX_NON_ORDERED_RESERVED_IN_TDMR(0, 1)');
    expect(explain({ status: '0xc0000a1100000201' }).operand?.text).toBe('TDMR 1, 1G PAMT');
  });

  it('register operands and MSR numbers', () => {
    expect(explain({ status: '0xc000010000000001' }).operand?.text).toBe('operand RCX (id 1)');
    const tsc = explain({ status: '0xC00009200000003B' });
    expect(tsc.display).toBe('TDX_INCONSISTENT_MSR|0x3b');
    expect(tsc.operand?.text).toBe('MSR 0x3b (IA32_TSC_ADJUST)');
    expect(tsc.causes.join(' ')).toContain('TSC');
    const tme = explainStatus(msrCode(TDX_INCORRECT_MSR_VALUE, 0x982), 33n);
    expect(tme.operand?.text).toBe('MSR 0x982 (IA32_TME_ACTIVATE)');
    expect(tme.checking).toContain('platform checks');
    expect(tme.remedies.join(' ')).toContain('BIOS');
    expect(explainStatus(msrCode(TDX_INCONSISTENT_MSR, 0x87), 35n).checking).toContain('latched');
  });

  it('every status of the table explains without throwing, with a meaning', () => {
    for (const s of [...STATUS_TABLE, ...SW_STATUS_TABLE]) {
      const r = explainStatus(s.value);
      expect(r.known).toBe(true);
      expect(r.name).toBe(s.name);
      expect(r.meaning.length).toBeGreaterThan(5);
    }
  });
});

describe('explain: the leaf, from --leaf or the line', () => {
  it('a 6.8+ SEAMCALL line: TDH.SYS.RD on a 1.0 module is version skew', () => {
    const r = explain({ status: '[    3.123456] virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc000050500000000' });
    expect(r.leaf).toMatchObject({ number: 34, version: 0, name: 'TDH.SYS.RD' });
    expect(r.name).toBe('TDX_SYS_NOT_READY');
    expect(r.causes.join(' ')).toContain('TDX module 1.0');
    expect(r.remedies.join(' ')).toContain('upgrade the TDX module');
    expect(r.meaning).toContain('unknown to this module');
  });

  it('a 6.18 line reading MAX_VCPUS_PER_TD from 1.5.01', () => {
    const r = explain({ status: 'virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc0000c0000000000' });
    expect(r.name).toBe('TDX_METADATA_FIELD_ID_INCORRECT');
    expect(r.checking).toContain('field id in RDX');
    expect(r.causes.join(' ')).toContain('MAX_VCPUS_PER_TD');
  });

  it('the 2022 drafts\' line format and KVM\'s named format', () => {
    const d = explain({ status: 'tdx: SEAMCALL failed: CPU 3: leaf 32, error 0xc000050200000000.' });
    expect(d.leaf?.name).toBe('TDH.SYS.INFO');
    expect(d.checking).toContain('LP.INIT');
    const k = explain({ status: 'kvm_intel: SEAMCALL TDH_MNG_CREATE failed: 0xc000082000000000' });
    expect(k.leaf?.number).toBe(9);
    expect(k.name).toBe('TDX_HKID_NOT_FREE');
    expect(explain({ status: 'virt/tdx: TDH.SYS.DISABLE failed: 0xc000010000000000' }).leaf?.name).toBe('TDH.SYS.DISABLE');
  });

  it('--leaf by number, hex with a version, or name', () => {
    expect(explain({ status: '0x8000080000000000', leaf: '31' }).checking).toContain('PCONFIG');
    expect(explain({ status: '0x8000080000000000', leaf: 'TDH.SYS.KEY.CONFIG' }).leaf?.number).toBe(31);
    const v = explain({ status: '0xc000010000000000', leaf: '0x10016' });
    expect(v.leaf).toMatchObject({ number: 22, version: 1, name: 'TDH.VP.INIT' });
    expect(v.causes[0]).toContain('version 1');
    expect(v.operand?.text).toContain('RAX');
    expect(explain({ status: '0x00000a0300000000', leaf: 'tdh_sys_tdmr_init' }).severity).toBe('warning');
  });

  it('infers the leaf when only one leaf returns the status', () => {
    const r = explain({ status: '0xc0000a1200000201' });
    expect(r.leaf).toMatchObject({ number: 45, name: 'TDH.SYS.CONFIG', inferred: true });
    expect(r.checking).toContain('PAMT of TDMR i');
    expect(explain({ status: '0xc000050000000000' }).leaf).toMatchObject({ number: 33, inferred: true });
    expect(explain({ status: '0xc000010000000001' }).leaf).toBeNull();
    expect(explain({ status: '0xc000050000000000', leaf: '33' }).leaf?.inferred).toBe(false);
  });

  it('SYS.INIT platform check failures say what was checked', () => {
    const r = explain({ status: '0xc0000a2200000000', leaf: '33' });
    expect(r.name).toBe('TDX_CMR_LIST_INVALID');
    expect(r.checking).toContain('CMR list');
    expect(explain({ status: '0xc000090100000000', leaf: '33' }).remedies.join(' ')).toContain('Limit CPUID Maximum');
  });
});

describe('explain: Linux software codes and unknown codes', () => {
  it('VMFAILINVALID, GP, UD with their errno', () => {
    const vm = explain({ status: '0x8000ff00ffff0000' });
    expect(vm.name).toBe('TDX_SEAMCALL_VMFAILINVALID');
    expect(vm.linux).toMatchObject({ errno: -19, errnoName: '-ENODEV', printed: false });
    expect(vm.remedies.join(' ')).toContain('SEAM loader');
    expect(explain({ status: '0x8000ff000000000d' }).linux.errnoName).toBe('-EOPNOTSUPP');
    const ud = explain({ status: '0x8000FF0000000006' });
    expect(ud.linux.errno).toBe(-13);
    expect(ud.causes.join(' ')).toContain('VMXON');
    expect(ud.class.name).toContain('Linux software');
  });

  it('an unknown code is reported as unknown with its decoded fields', () => {
    const r = explain({ status: '0xc0001f0700000042' });
    expect(r.known).toBe(false);
    expect(r.name).toBe('UNKNOWN_STATUS');
    expect(r.class).toMatchObject({ id: 0x1f, name: 'unknown class' });
    expect(r.bits).toMatchObject({ error: true, nonRecoverable: true, detailsL1: '0x7', detailsL2: '0x00000042' });
    expect(r.meaning).toContain('unknown status');
    expect(r.fatal).toBe(true);
    expect(explain({ status: '0x8000020f00000000' }).recoverable).toBe(true);
    expect(explain({ status: '0x0' }).severity).toBe('success');
  });
});

describe('explain: bad input', () => {
  it('rejects garbage with stable codes', () => {
    expect(codeOf(() => explain({ status: 'zzz' }))).toBe('TDXSIM_BAD_STATUS');
    expect(codeOf(() => explain({ status: '' }))).toBe('TDXSIM_BAD_STATUS');
    expect(codeOf(() => explain({ status: '0x1c000050000000000' }))).toBe('TDXSIM_BAD_STATUS');
    expect(codeOf(() => explain({ status: 'x'.repeat(10_000) }))).toBe('TDXSIM_BAD_STATUS');
    expect(codeOf(() => explain({ status: '0xc000050000000000', leaf: 'TDH.NOPE' }))).toBe('TDXSIM_BAD_ARGS');
    expect(codeOf(() => explain({ status: 'SEAMCALL (0x0000000000000022) failed: 0xc000050500000000', leaf: '33' }))).toBe('TDXSIM_BAD_ARGS');
  });

  it('parsers return results, never throw', () => {
    expect(parseStatusArg('\u0000\u0001').ok).toBe(false);
    expect(parseLeafArg('-1').ok).toBe(false);
    expect(parseStatusArg('  0x21  ')).toMatchObject({ ok: true, status: 0x21n });
  });
});
