/**
 * splitHpa(): the number fast path below 2^52 agrees with the bigint definition (PA = bits below
 * the HKID shift, HKID = bits from the shift to 51, bits from 52 up ignored) for every shift and
 * edge address.
 */
import { describe, expect, it } from 'vitest';

import { MAX_PA, splitHpa } from '../../../src/module/hpaChecks.js';
import type { ModuleState } from '../../../src/module/globalState.js';

function reference(shift: number, v: bigint): { pa: number; hkid: number } {
  const s = BigInt(shift);
  return { pa: Number(v & ((1n << s) - 1n)), hkid: Number((v & (MAX_PA - 1n)) >> s) };
}

describe('splitHpa', () => {
  it('matches the bigint definition for every shift 36..52 and edge addresses', () => {
    const values: bigint[] = [0n, 1n, 0xfffn, 0x1000n, 0x40000000n, 0x0008400040014000n, 0x0008000040000000n, MAX_PA - 1n, MAX_PA - 0x1000n, MAX_PA, MAX_PA + 0x1000n, 1n << 63n, (1n << 64n) - 1n];
    for (let shift = 36; shift <= 52; shift++) {
      for (let k = 0; k < 52 - shift; k++) {
        values.push((1n << BigInt(shift + k)) | 0x1000n, ((1n << BigInt(shift + k)) - 1n) | (1n << BigInt(shift)));
      }
    }
    for (let shift = 36; shift <= 52; shift++) {
      const m = { hkidShift: shift } as ModuleState;
      for (const v of values) {
        expect(splitHpa(m, v), `shift ${shift} v 0x${v.toString(16)}`).toEqual(reference(shift, v));
      }
    }
  });
});
