import { describe, expect, it } from 'vitest';

import { cpuId } from '../../../src/base/ids.js';
import { hex16 } from '../../../src/base/u64.js';
import type { ModuleMachine } from '../../../src/machine/moduleMachine.js';
import { statusName } from '../../../src/module/status.js';
import type { SeamRegs } from '../../../src/platform/Seam.js';
import { preset } from '../../../src/platform/presets.js';
import { seamcallRegs as call, vmxModuleMachine } from '../../__test-helpers__/moduleMachine.js';
import { CFG_A, cfgA, encodeTdmrInfo, encodeU64s, tdParams } from './cfgA.js';

function mk(): ModuleMachine {
  const spec = preset('ref');
  if (spec === undefined) {
    throw new Error('no ref');
  }
  return vmxModuleMachine(spec);
}
function write(m: ModuleMachine, pa: number, b: Uint8Array): void {
  m.platform.store(m.platform.cpu(cpuId(0)), pa, b, 0, 'host');
}

describe('module in-process smoke', () => {
  it('boots REF to S5 and runs a TD lifecycle', () => {
    const m = mk();
    const st = (r: SeamRegs): string => `${hex16(r.rax)} ${statusName(r.rax)}`;
    expect(st(call(m, 0, { rax: 33n }))).toBe('0x0000000000000000 TDX_SUCCESS');
    for (let lp = 0; lp < 4; lp++) {
      expect(call(m, lp, { rax: 35n }).rax).toBe(0n);
    }
    const [t0, t1] = cfgA();
    write(m, CFG_A.info0, encodeTdmrInfo(t0));
    write(m, CFG_A.info1, encodeTdmrInfo(t1));
    write(m, CFG_A.array, encodeU64s([0x10000000n, 0x10000200n]));
    expect(st(call(m, 0, { rax: 45n, rcx: 0x10001000n, rdx: 2n, r8: 32n }))).toBe('0x0000000000000000 TDX_SUCCESS');
    expect(call(m, 0, { rax: 31n }).rax).toBe(0n);
    expect(call(m, 2, { rax: 31n }).rax).toBe(0n);
    let r = call(m, 0, { rax: 36n, rcx: 0n });
    expect(r.rdx).toBe(0n);
    for (let i = 1; i < 512; i++) {
      r = call(m, 0, { rax: 36n, rcx: 0n });
    }
    expect(r.rdx).toBe(0x80000000n);
    expect(call(m, 0, { rax: 36n, rcx: 0n }).rax).toBe(0x00000a0300000000n);
    for (let i = 0; i < 1024; i++) {
      r = call(m, 0, { rax: 36n, rcx: 0x100000000n });
    }
    expect(r.rdx).toBe(0x200000000n);
    // TD lifecycle.
    expect(st(call(m, 0, { rax: 9n, rcx: 0x40000000n, rdx: 33n }))).toContain('SUCCESS');
    expect(call(m, 0, { rax: 8n, rcx: 0x40000000n }).rax).toBe(0n);
    expect(call(m, 1, { rax: 8n, rcx: 0x40000000n }).rax).toBe(0x0000081500000000n);
    expect(call(m, 2, { rax: 8n, rcx: 0x40000000n }).rax).toBe(0n);
    for (let i = 1; i <= 6; i++) {
      expect(call(m, 0, { rax: 1n, rcx: BigInt(0x40000000 + i * 0x1000), rdx: 0x40000000n }).rax).toBe(0n);
    }
    write(m, 0x10004000, tdParams());
    expect(st(call(m, 0, { rax: 21n, rcx: 0x40000000n, rdx: 0x10004000n }))).toContain('SUCCESS');
    expect(call(m, 0, { rax: 10n, rcx: 0x4000a000n, rdx: 0x40000000n }).rax).toBe(0n);
    r = call(m, 0, { rax: 2n, rcx: 0n, rdx: 0x40000000n, r8: 0x4000b000n, r9: 0x10005000n });
    expect([r.rax, r.rcx, r.rdx]).toEqual([0xc0000b0000000001n, 0x8000000000000000n, 3n]);
    expect(call(m, 0, { rax: 19n, rcx: 0x40000000n }).rax).toBe(0n);
    expect(m.platform.faults).toBeDefined();
    expect(call(m, 0, { rax: 40n, rcx: 0n }).rax).toBe(0n);
    expect(call(m, 2, { rax: 40n, rcx: 0n }).rax).toBe(0n);
    expect(call(m, 0, { rax: 20n, rcx: 0x40000000n }).rax).toBe(0n);
    r = call(m, 0, { rax: 28n, rcx: 0x40001000n });
    expect([r.rax, r.rcx, r.rdx, r.r8]).toEqual([0n, 5n, 0x40000000n, 0n]);
  });
});
