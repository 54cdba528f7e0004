/** The kexec flush note lists each flush on a small host and groups them (CPU ranges) on a large one. */
import { describe, expect, it } from 'vitest';

import { formatFlushes } from '../../../src/scenario/kernelSession.js';

describe('kexec flush note', () => {
  it('up to 8 flushes are listed one by one', () => {
    expect(formatFlushes([])).toBe('none');
    expect(formatFlushes([{ cpu: 0, site: 'tdx_cpu_flush_cache_for_kexec', t: 28_031_000 }, { cpu: 2, site: 'tdx_cpu_flush_cache_for_kexec', t: 28_033_000 }])).toBe('CPU 0 tdx_cpu_flush_cache_for_kexec at 0.028031 s; CPU 2 tdx_cpu_flush_cache_for_kexec at 0.028033 s');
  });

  it('a 512-CPU host is one short line: site, CPU count, ranges and time', () => {
    const site = 'tdx_cpu_flush_cache_for_kexec';
    const fl = [{ cpu: 0, site, t: 1000 }, ...Array.from({ length: 511 }, (_v, i) => ({ cpu: 511 - i, site, t: 3000 })).filter((f) => f.cpu !== 300), { cpu: 300, site: 'stop_this_cpu', t: 3000 }];
    expect(formatFlushes(fl)).toBe(`${site} on CPU 0 at 0.000001 s; ${site} on 510 CPUs 1-299,301-511 at 0.000003 s; stop_this_cpu on CPU 300 at 0.000003 s`);
  });
});
