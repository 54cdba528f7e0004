import { describe, expect, it } from 'vitest';

import { kernelRig, tdxLines } from '../../__test-helpers__/kernelMachine.js';

describe('smoke', () => {
  it('boots small-2s and brings TDX up with the stub', () => {
    const r = kernelRig('small-2s');
    const ret = r.run(r.m.loadKvm());
    expect(ret).toBe(0);
    console.log(r.lines().join('\n'));
    expect(tdxLines(r.lines())).toContain('virt/tdx: module initialized');
  });
});
