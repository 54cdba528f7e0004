import { describe, expect, it } from 'vitest';

import { run } from '../../src/api/index.js';
import type { RunResult } from '../../src/api/index.js';

function one(name: string, extra: Record<string, unknown> = {}): RunResult {
  return run({ scenario: name, ...extra });
}

describe('kexec and kdump scenarios (issue 5)', () => {
  it('default: boot, TDX up, a TD, kexec, and the next kernel fails TDH.SYS.INIT exactly as Linux prints it', () => {
    const r = one('default');
    expect(r.verdict).toBe('pass');
    const d = r.runs[0]!.dmesg;
    expect(d).toContain('virt/tdx: module initialized');
    expect(d).toContain('kexec_core: Starting new kernel');
    expect(d.filter((l) => l === 'virt/tdx: BIOS enabled: private KeyID range [16, 64)')).toHaveLength(2);
    expect(d[d.length - 1]).toBe('virt/tdx: SEAMCALL (0x0000000000000021) failed: 0xc000050000000000');
    expect(r.runs[0]!.notes).toContain('kvm.load: -5');
  });

  it('linux-6.18 with a TD: KVM flushes the CPUs that issued SEAMCALLs early; no finding', () => {
    const r = one('kexec-linux-6.18');
    expect(r.findings).toEqual([]);
    const flushes = r.runs[0]!.notes.find((n) => n.startsWith('kexec: cache flushes'));
    // Every CPU issued TDH.SYS.LP.INIT, so every CPU is flushed by KVM's syscore shutdown.
    expect(flushes).toMatch(/^kexec: cache flushes before the jump: (CPU \d tdx_cpu_flush_cache_for_kexec at [\d.]+ s(; )?){4}$/);
  });

  it('the mutant without any kexec WBINVD: silent corruption of the new kernel, naming line, KeyIDs, CPU', () => {
    const r = one('kexec-mutant');
    expect(r.verdict).toBe('pass');
    const c = r.findings.filter((f) => f.class === 'silent-corruption');
    expect(c.length).toBeGreaterThan(0);
    const td = c.find((f) => f.details['staleWriter'] === 'td1');
    expect(td?.details).toMatchObject({ staleKeyId: 17, fromCpu: 1, overwrittenKeyId: 0, overwrittenWriter: 'kernel#1', cause: 'evict' });
    expect(td?.message).toMatch(/^silent corruption: \d+ lines (in \d+ ranges, first at|from) 0x[0-9a-f]+ \(private memory of TD 1, HKID 17\): a stale KeyID 17 alias \(written by td1\) was written back from CPU 1's cache \(evict\) over newer data written through KeyID 0 by kernel#1$/);
  });

  it('tdx-host-v8 and tdx-host-rfc flush in stop_this_cpu even when TDX was never initialized', () => {
    for (const name of ['kexec-v8-tdx-unused', 'kexec-rfc-tdx-unused']) {
      const r = one(name);
      expect(r.findings, name).toEqual([]);
      expect(r.runs[0]!.notes[0], name).toMatch(/^kexec: cache flushes before the jump: CPU \d stop_this_cpu at [\d.]+ s; CPU \d stop_this_cpu at [\d.]+ s; CPU \d stop_this_cpu at [\d.]+ s$/);
      expect(r.runs[0]!.dmesg.some((l) => l.includes('module initialized')), name).toBe(false);
    }
  });

  it('kdump after a TD ran: the crash kernel region is not corrupted', () => {
    const r = one('kdump');
    expect(r.findings).toEqual([]);
    expect(r.runs[0]!.dmesg).toContain('Kernel panic - not syncing: sysrq triggered crash');
    // Only the crashing CPU flushes (relocate_kernel, its own flag); the others were shot down.
    expect(r.runs[0]!.notes.find((n) => n.startsWith('crash:'))).toMatch(/^crash: cache flushes before the jump: CPU 0 relocate_kernel at [\d.]+ s$/);
  });

  it('linux-6.18 refuses kexec_load on an erratum platform; 6.8 to 6.17 have no kexec at all', () => {
    const e = one('kexec-erratum');
    expect(e.runs[0]!.dmesg).toContain('kexec: Not allowed on platform with tdx_pw_mce bug');
    expect(e.runs[0]!.notes).toContain('kexec_load failed: Operation not supported');
    expect(e.runs[0]!.dmesg).not.toContain('kexec_core: Starting new kernel');
    const k = one('kexec-linux-6.8');
    expect(k.runs[0]!.notes).toContain('kexec_load failed: Function not implemented (linux-6.16 is built without kexec: INTEL_TDX_HOST depends on !KEXEC_CORE in Linux 6.8 to 6.17)');
  });

  it('the stop race under a chosen schedule: CPU 1 still running after the new kernel started, with the timeline', () => {
    const r = one('kexec-stop-race');
    expect(r.verdict).toBe('pass');
    const f = r.findings[0]!;
    expect(f.class).toBe('cpu-still-running');
    expect(f.message).toMatch(/^CPU 1 still running after the new kernel started: at the kexec jump \(t=1\.\d{6} s\) it was in REBOOT > NMI/);
    expect(f.message).toMatch(/; until it halts it runs old-kernel code: it can still store to memory the new kernel now owns and write back dirty lines from its cache \(eviction or its own WBINVD\) over the new kernel$/);
    const tl = r.runs[0]!.timeline.join('\n');
    expect(tl).toMatch(/take REBOOT[\s\S]*stop_this_cpu: run 1[\s\S]*HLT[\s\S]*send NMI to CPU 1[\s\S]*woken by NMI[\s\S]*kexec jump/);
    expect(r.runs[0]!.dmesg).toContain('Shutting down cpus with NMI');
  });

  it('AMD SME: the C-bit alias is flushed by stop_this_cpu; the mutant corrupts', () => {
    expect(one('kexec-amd-sme').findings).toEqual([]);
    const m = one('kexec-amd-sme-mutant');
    expect(m.findings.map((f) => [f.class, f.details['staleKeyId'], f.details['fromCpu']])).toEqual([['silent-corruption', 1, 1]]);
  });

  it('AMD: kvm_intel fails to load with -EOPNOTSUPP and no TDX line, and KVM flushes nothing at kexec', () => {
    const r = one('default', { platform: 'amd-sme-2s' });
    expect(r.verdict).toBe('pass');
    const d = r.runs[0]!.dmesg;
    expect(d.filter((l) => l.startsWith('kvm'))).toEqual(['kvm_intel: VMX not supported by CPU 0', 'kvm_intel: VMX not supported by CPU 0']);
    expect(d.filter((l) => /tdx[:_]|TDX/.test(l))).toEqual([]);
    expect(r.runs[0]!.notes.filter((n) => n.startsWith('kvm.load'))).toEqual(['kvm.load: -95', 'kvm.load: -95']);
    const flushes = r.runs[0]!.notes.find((n) => n.startsWith('kexec: cache flushes'));
    // Only stop_this_cpu() (AMD: every CPU incoherent) and relocate_kernel flush; KVM's syscore step is not registered.
    expect(flushes).not.toContain('tdx_cpu_flush_cache_for_kexec');
    expect(flushes).toMatch(/^kexec: cache flushes before the jump: (CPU [1-7] stop_this_cpu at [\d.]+ s; ){7}CPU 0 relocate_kernel at [\d.]+ s$/);
  });

  it('AMD: with kvm_intel not loaded there is no /dev/kvm, and td.create says so instead of -22', () => {
    const r = one('default', { platform: 'amd-sme-2s' });
    expect(r.runs[0]!.notes.filter((n) => n.startsWith('td.create'))).toEqual(['td.create: no /dev/kvm: kvm_intel is not loaded (modprobe kvm_intel failed with -95 (EOPNOTSUPP)); open("/dev/kvm") fails with ENOENT']);
    // An Intel host whose kvm_intel loaded with TDX off still answers a TD with -EINVAL (KVM has no TDX VM type).
    const off = one('default', { platform: 'small-2s', module: '1.5.06', kernel: 'linux-6.6' });
    expect(off.runs[0]!.notes.filter((n) => n.startsWith('td.create') || n.startsWith('kvm.load'))).toEqual(['kvm.load: 0', 'td.create: -22', 'kvm.load: 0']);
  });

  it('the 2022 RFC leaves the kexec-ing CPU unflushed: its dirty TDR line hits the new kernel', () => {
    const r = one('kexec-rfc-td');
    expect(r.verdict).toBe('pass');
    expect(r.findings.find((f) => f.class === 'silent-corruption')?.details).toMatchObject({ fromCpu: 0, overwrittenWriter: 'kernel#1' });
  });

  it('kexec-rfc-td names the pages hit (PAMT of TDMR 0, TDVPR page, with HKID) in the finding, and its timeline marks CPU 0\'s SEAMCALLs that dirtied the lines', () => {
    const r = one('kexec-rfc-td');
    const sc = r.findings.filter((f) => f.class === 'silent-corruption');
    // TDH.SYS.TDMR.INIT's ordinary PAMT stores (audit row 21) leave 771 of the 773 lines; the
    // TD's TDR and TDVPR lines are the other two. Under the TD's HKID: the TDVPR line and the two
    // Secure EPT lines TDH.MEM.SEPT.ADD stored on CPU 0 (line 0 of the SEPT root, TDCS page 3, and
    // of the level-2 SEPT page; module/septLayout.ts), which the rest of the build did not move.
    expect(sc.map((f) => f.message)).toEqual([
      'silent corruption: 773 lines in 8 ranges, first at 0x17fff3000 (PAMT of TDMR 0, given to the TDX module by kernel 1): a stale KeyID 16 alias (written by tdx-module) was written back from CPU 0\'s cache (evict) over newer data written through KeyID 0 by kernel#1',
      'silent corruption: 3 lines in 3 ranges, first at 0x17efe6100 (TDVPR page of TD 1, HKID 17): a stale KeyID 17 alias (written by tdx-module) was written back from CPU 0\'s cache (evict) over newer data written through KeyID 0 by kernel#1',
    ]);
    expect(sc[0]?.details['page']).toBe('PAMT of TDMR 0, given to the TDX module by kernel 1');
    const causes = r.runs[0]!.timelineEvents.filter((m) => m.fields['mark'] === 'stale-line-dirtied');
    expect(causes.map((m) => [m.t, m.cpu, m.label])).toEqual([
      [18_517_150, 0, '0x1ffffb000 (PAMT of TDMR 2, given to the TDX module by kernel 1): dirtied through KeyID 16 by TDH.SYS.TDMR.INIT; written back stale at 0.033048 s'],
      [22_869_150, 0, '0x1ffffd000 (PAMT of TDMR 2, given to the TDX module by kernel 1): dirtied through KeyID 16 by TDH.SYS.TDMR.INIT; written back stale at 0.033048 s'],
      [27_198_150, 0, '0x17efed040 (TDR page of TD 1, HKID 17): dirtied through KeyID 16 by TDH.MNG.ADDCX; written back stale at 0.033048 s'],
      [27_206_150, 0, '0x17efe6100 (TDVPR page of TD 1, HKID 17): dirtied through KeyID 17 by TDH.VP.INIT; written back stale at 0.033048 s'],
      [27_207_150, 0, '0x17efe9000 (TDCS page of TD 1, HKID 17): dirtied through KeyID 17 by TDH.MEM.SEPT.ADD; written back stale at 0.033048 s'],
      [27_208_150, 0, '0x17eee0000 (Secure EPT page of TD 1, HKID 17): dirtied through KeyID 17 by TDH.MEM.SEPT.ADD; written back stale at 0.033048 s'],
      [27_739_150, 0, '0x17efed000 (TDR page of TD 1, HKID 17): dirtied through KeyID 16 by TDH.MEM.PAGE.AUG; written back stale at 0.033048 s'],
    ]);
    expect(causes[6]?.fields).toEqual({ mark: 'stale-line-dirtied', pa: '0x17efed000', keyId: 16, leaf: 'TDH.MEM.PAGE.AUG', page: 'TDR page of TD 1, HKID 17', writebackNs: 33_048_294 });
    // Every cause is before the jump, on the timeline of the old kernel.
    const jump = r.runs[0]!.timelineEvents.find((m) => m.fields['mark'] === 'kexec jump')?.t ?? 0;
    expect(jump).toBe(31_008_294);
    expect(causes.every((m) => m.t < jump)).toBe(true);
  });
});
