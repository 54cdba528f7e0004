import { describe, expect, it } from 'vitest';

import { kernelRig, tdxLines } from '../../__test-helpers__/kernelMachine.js';

describe('smoke', () => {
  it('boots small-2s and brings TDX up with the stub', () => {
    const r = kernelRig('small-2s');
    const ret = r.run(r.m.loadKvm());
    expect(ret).toBe(0);
    expect(tdxLines(r.lines())).toContain('virt/tdx: module initialized');
  });
});

describe('determinism', () => {
  it('same platform, profile and seed: identical timestamped dmesg and trace hash', () => {
    const once = (): [string[], string] => {
      const r = kernelRig('small-2s', { module: 'real' });
      r.run(r.m.loadKvm());
      const td = r.run(r.m.createTd({ pages: 4, runCpu: 1 }));
      r.run(r.m.destroyTd(td.td!));
      return [r.m.kernel.dmesg.format('debug'), r.m.platform.tracer.hash];
    };
    const a = once();
    const b = once();
    expect(a[0]).toEqual(b[0]);
    expect(a[1]).toBe(b[1]);
    expect(a[0].at(-1)).toMatch(/^\[\s+\d+\.\d{6}\] virt\/tdx: module initialized$/);
  });
});
