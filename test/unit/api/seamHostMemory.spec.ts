/**
 * Host loads and stores of the SEAMCALL machine reach memory only: SEAMRR, SMRR, memory holes
 * and addresses past the end of memory are refused with TDXSIM_NOT_HOST_MEMORY, naming the part
 * of the range that is not host memory.
 */
import { describe, expect, it } from 'vitest';

import { createSeamMachine } from '../../../src/api/seam.js';
import { isTdxsimError } from '../../../src/api/errors.js';

/** The error code and message of `f`, or "ok". */
function outcome(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (isTdxsimError(e)) {
      return `${e.code}: ${e.message}`;
    }
    throw e;
  }
}

describe('host accesses outside memory are refused', () => {
  // ref: e820 usable [0, 0x9f000), reserved [0x9f000, 0x100000), usable to 0x80000000, reserved
  // (SEAMRR) [0x80000000, 0x82000000), usable [0x100000000, 0x200000000); SMRR [0x88000000, +8 MiB).
  const m = createSeamMachine({ platform: 'ref' });
  const byte = Uint8Array.of(0xaa);

  it('a store or load into SEAMRR is refused, also through a KeyID alias', () => {
    expect(outcome(() => m.memWrite(0x80001000, byte))).toBe('TDXSIM_NOT_HOST_MEMORY: range 0x80001000+0x1 overlaps SEAMRR [0x80000000, 0x82000000), which only the TDX module (SEAM mode) accesses; a host access there is not modelled');
    expect(outcome(() => m.memRead(0x80000000 + 5 * 2 ** 46, 64))).toMatch(/^TDXSIM_NOT_HOST_MEMORY: range 0x80000000\+0x40 overlaps SEAMRR/);
    // A range that only ends inside SEAMRR.
    expect(outcome(() => m.memRead(0x7fffffc0, 128))).toMatch(/^TDXSIM_NOT_HOST_MEMORY: range 0x7fffffc0\+0x80 overlaps SEAMRR/);
  });

  it('SMRR and the MMIO hole are refused; the gap is named', () => {
    expect(outcome(() => m.memWrite(0x88000000, byte))).toBe('TDXSIM_NOT_HOST_MEMORY: range 0x88000000+0x1 overlaps SMRR [0x88000000, 0x88800000), which only SMM code accesses; a host access there is not modelled');
    expect(outcome(() => m.memWrite(0xc0000000, byte))).toBe('TDXSIM_NOT_HOST_MEMORY: range 0xc0000000+0x1 is not all memory: [0xc0000000, 0xc0000001) is in no e820 entry (a memory hole or past the end of memory); a host access there is not modelled');
    expect(outcome(() => m.memRead(0xfffffff0, 32))).toMatch(/is not all memory: \[0xfffffff0, 0x100000000\) is in no e820 entry/);
  });

  it('past the end of memory is refused; the last byte of memory and ranges across e820 entries work', () => {
    expect(outcome(() => m.memRead(0x200000000, 1))).toMatch(/^TDXSIM_NOT_HOST_MEMORY: range 0x200000000\+0x1 is not all memory: \[0x200000000, 0x200000001\)/);
    expect(outcome(() => m.memRead(0x1ffffffff, 2))).toMatch(/\[0x200000000, 0x200000001\) is in no e820 entry/);
    expect(outcome(() => m.memWrite(0x1ffffffff, byte))).toBe('ok');
    // usable [0, 0x9f000) and reserved [0x9f000, 0x100000) touch: one stretch of memory.
    expect(outcome(() => m.memRead(0x9eff0, 64))).toBe('ok');
    const r = m.memRead(0x1ffffffff, 1);
    expect('data' in r ? Buffer.from(r.data).toString('hex') : 'poison').toBe('aa');
  });
});
