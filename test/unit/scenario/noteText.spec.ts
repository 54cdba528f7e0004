/** Run notes in the text output name their return codes and TDX statuses; the raw notes stay for --json. */
import { describe, expect, it } from 'vitest';

import { noteText, returnCodeText } from '../../../src/scenario/noteText.js';

describe('run notes name their codes', () => {
  it('return codes by errno name, success as success, unnamed codes bare', () => {
    expect(returnCodeText(0)).toBe('0 (success)');
    expect(returnCodeText(-5)).toBe('-5 (EIO)');
    expect(returnCodeText(-22)).toBe('-22 (EINVAL)');
    expect(returnCodeText(-95)).toBe('-95 (EOPNOTSUPP)');
    expect(returnCodeText(-123)).toBe('-123');
  });

  it('every note form that carries a code', () => {
    expect(noteText('kvm.load: -5')).toBe('kvm.load: -5 (EIO)');
    expect(noteText('td.create: 0')).toBe('td.create: 0 (success)');
    expect(noteText('td.destroy: -5')).toBe('td.destroy: -5 (EIO)');
    expect(noteText('td.release 0x110000+0x10000: 0')).toBe('td.release 0x110000+0x10000: 0 (success)');
    expect(noteText('cpu.offline 3: -16')).toBe('cpu.offline 3: -16 (EBUSY)');
    expect(noteText('fault: cpu.offline 2: 0')).toBe('fault: cpu.offline 2: 0 (success)');
    expect(noteText('cpu.online 1: -5')).toBe('cpu.online 1: -5 (EIO)');
    expect(noteText('mem.online 0x200000000: 0')).toBe('mem.online 0x200000000: 0 (success)');
    expect(noteText('tdx.enable: cpu0=0 cpu1=-5 cpu2=unfinished')).toBe('tdx.enable: cpu0=0 (success) cpu1=-5 (EIO) cpu2=unfinished');
    expect(noteText('td.run on CPU 1: TDH.VP.ENTER 0x4d')).toBe('td.run on CPU 1: TDH.VP.ENTER 0x4d (TDX_SUCCESS, exit reason 77 (TDCALL))');
    expect(noteText('td.run on CPU 0: TDH.VP.ENTER 0xc000050500000000')).toBe('td.run on CPU 0: TDH.VP.ENTER 0xc000050500000000 (TDX_SYS_NOT_READY)');
    expect(noteText('td.run vCPU 2 on CPU 3: TDH.VP.ENTER 0x4d')).toBe('td.run vCPU 2 on CPU 3: TDH.VP.ENTER 0x4d (TDX_SUCCESS, exit reason 77 (TDCALL))');
  });

  it('notes without a code are unchanged', () => {
    for (const n of ['td.run: no running TD', 'td.run on CPU 1: TDH.VP.ENTER not issued', 'kexec_load failed: Operation not supported', 'armed 2 fault(s) at pamt.alloc', 'kexec: cache flushes before the jump: none']) {
      expect(noteText(n)).toBe(n);
    }
  });
});
