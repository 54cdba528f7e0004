/**
 * Scenario step values are checked against the platform and the steps before them when the
 * scenario is loaded: one line per problem, naming the step's field path, before anything runs.
 */
import { describe, expect, it } from 'vitest';

import { isTdxsimError } from '../../../src/api/errors.js';
import { prepareRun } from '../../../src/api/run.js';

/** The problem lines of a scenario object, or [] when it loads. */
function problems(scenario: unknown): string[] {
  try {
    prepareRun({ scenarioObject: scenario });
    return [];
  } catch (e) {
    if (isTdxsimError(e)) {
      expect(e.code).toBe('TDXSIM_BAD_SCENARIO');
      return e.message.split('\n');
    }
    throw e;
  }
}

const BRING_UP = [{ op: 'boot' }, { op: 'kvm.load' }];

describe('scenario step values are checked at load time', () => {
  it('a td.run of a vCPU the TD does not have is refused, naming the vCPUs it has', () => {
    expect(problems({ steps: [...BRING_UP, { op: 'td.create', vcpus: 2 }, { op: 'td.create' }, { op: 'td.run', td: 1, cpu: 1, vcpu: 1 }] })).toEqual([
      'scenario: steps[4].vcpu (td.run): vCPU 1 does not exist (TD 1 has vCPUs 0..0; "vcpus" of "td.create")',
    ]);
    expect(problems({ steps: [...BRING_UP, { op: 'td.create', vcpus: 2 }, { op: 'td.run', cpu: 1, vcpu: 2 }] })).toEqual([
      'scenario: steps[3].vcpu (td.run): vCPU 2 does not exist (the TDs created before it have vCPUs 0..1; "vcpus" of "td.create")',
    ]);
    expect(problems({ steps: [...BRING_UP, { op: 'td.create', vcpus: 2 }, { op: 'td.run', td: 0, cpu: 1, vcpu: 1 }] })).toEqual([]);
  });
  it('a td.destroy of a TD that is never created is refused, naming the TDs that exist', () => {
    expect(problems({ steps: [...BRING_UP, { op: 'td.create', count: 2 }, { op: 'td.destroy', td: 99 }] })).toEqual([
      'scenario: steps[3].td (td.destroy): TD 99 is never created (the "td.create" steps before it create TDs 0..1)',
    ]);
    expect(problems({ steps: [...BRING_UP, { op: 'td.destroy' }] })).toEqual(['scenario: steps[2] (td.destroy): no "td.create" comes before it, so there is no TD to destroy']);
    expect(problems({ steps: [...BRING_UP, { op: 'td.create', count: 2 }, { op: 'td.destroy', td: 1 }] })).toEqual([]);
  });

  it('TDs created by the common steps count for a variant', () => {
    const sc = { steps: [...BRING_UP, { op: 'td.create' }], variants: [{ name: 'a', steps: [{ op: 'td.destroy', td: 0 }] }, { name: 'b', steps: [{ op: 'td.destroy', td: 1 }] }] };
    expect(problems(sc)).toEqual(['scenario: variants[1].steps[0].td (td.destroy): TD 1 is never created (the "td.create" steps before it create TDs 0..0)']);
  });

  it('a store needs data or fill, not both', () => {
    expect(problems({ steps: [{ op: 'store', cpu: 0, pa: '0x1000' }] })).toEqual(['scenario: steps[0] (store): a store needs "data" (hex bytes) or "fill" (a byte value, with "len")']);
    expect(problems({ steps: [{ op: 'store', cpu: 0, pa: '0x1000', data: 'aa', fill: 1 }] })).toEqual(['scenario: steps[0] (store): give either "data" or "fill" with "len", not both']);
    expect(problems({ steps: [{ op: 'store', cpu: 0, pa: '0x1000', data: 'aabb' }] })).toEqual([]);
  });

  it('a KeyID beyond the platform\'s KeyIDs is refused, with the platform\'s range', () => {
    // small-2s: 15 MKTME + 48 TDX KeyIDs (src/platform/presets.ts).
    expect(problems({ platform: 'small-2s', steps: [{ op: 'store', cpu: 0, pa: '0x1000', keyId: 100000, fill: 1 }] })).toEqual([
      'scenario: steps[0].keyId (store): KeyID 100000 does not exist on platform small-2s (its KeyIDs are 0..63: keyids.mktme + keyids.tdx)',
    ]);
    expect(problems({ platform: 'small-2s', steps: [{ op: 'load', cpu: 0, pa: '0x1000', len: 64, keyId: 63 }] })).toEqual([]);
    expect(problems({ platform: 'small-2s', steps: [{ op: 'clflush', cpu: 0, pa: '0x1000', len: 64, keyId: 64 }] })).toHaveLength(1);
  });

  it('a CPU listed twice in lateRebootIpi is refused; every missing CPU is named with its field', () => {
    expect(problems({ platform: 'small-2s', steps: [{ op: 'boot' }, { op: 'kexec', lateRebootIpi: [0, 0, 0] }] })).toEqual(['scenario: steps[1].lateRebootIpi (kexec): lists a CPU twice (0, 0, 0)']);
    expect(problems({ platform: 'small-2s', steps: [{ op: 'boot' }, { op: 'tdx.enable', cpus: [0, 9] }, { op: 'kexec', lateRebootIpi: [4] }] })).toEqual([
      'scenario: steps[1].cpus[1] (tdx.enable): CPU 9 does not exist on platform small-2s (CPUs 0..3)',
      'scenario: steps[2].lateRebootIpi[0] (kexec): CPU 4 does not exist on platform small-2s (CPUs 0..3)',
    ]);
  });

  it('mem.online needs a range aligned to the 128 MiB memory block', () => {
    expect(problems({ steps: [{ op: 'boot' }, { op: 'mem.online', base: '0x280001000', size: '0x8000000' }] })).toEqual([
      'scenario: steps[1] (mem.online): base 0x280001000 and size 0x8000000 must be non-zero multiples of the 128 MiB memory block (Linux refuses an unaligned hot-add with -EINVAL)',
    ]);
    expect(problems({ steps: [{ op: 'boot' }, { op: 'mem.online', base: '0x280000000', size: 0 }] })).toHaveLength(1);
    expect(problems({ steps: [{ op: 'boot' }, { op: 'mem.online', base: '0x280000000', size: '0x8000000' }] })).toEqual([]);
  });

  it('unknown fault sites, own-property names included, are refused', () => {
    for (const site of ['nope', '__proto__', 'toString']) {
      const p = problems({ steps: [{ op: 'fault', site }] });
      expect(p).toHaveLength(1);
      expect(p[0]).toMatch(new RegExp(`^scenario: steps\\[0\\]\\.site \\(fault\\): unknown fault site "${site}" \\(known: rdrand, `));
    }
  });

  it('all problems of a file come at once, in step order', () => {
    const p = problems({ platform: 'small-2s', steps: [{ op: 'store', cpu: 7, pa: '0x0', keyId: 64 }, { op: 'boot' }, { op: 'mem.online', base: 1, size: 1 }] });
    expect(p.map((l) => l.split(' (')[0])).toEqual(['scenario: steps[0].keyId', 'scenario: steps[0]', 'scenario: steps[0].cpu', 'scenario: steps[2]']);
  });
});

describe('a scenario file reports every problem at once, in the format\'s words', () => {
  it('order, kernel and platform problems together; one kind of problem keeps its own code', () => {
    const p = problems({ platform: 'nope', kernel: 'bad', steps: [{ op: 'kexec' }, { op: 'boot' }] });
    expect(p.map((l) => l.split(': ').slice(0, 2).join(': '))).toEqual(['scenario: steps[0]', 'scenario: kernel', 'scenario: platform']);
    try {
      prepareRun({ scenarioObject: { platform: 'nope' } });
    } catch (e) {
      expect(isTdxsimError(e) ? e.code : e).toBe('TDXSIM_UNKNOWN_PRESET');
    }
  });

  it('an unknown step op and an unknown field are named without validator jargon', () => {
    expect(problems({ steps: [{ op: 'bogus' }] })).toEqual(['scenario: steps[0].op: unknown step op "bogus" (ops: store, movdir64b, clflush, wbinvd, wbnoinvd, evict, load, boot, kvm.load, tdx.enable, td.create, td.destroy, td.run, td.release, cpu.offline, cpu.online, mem.online, kexec, crash, fault)']);
    expect(problems({ steps: [{ op: 'boot', extra: 1 }], bogus: 2 })).toEqual(['scenario: steps[0]: unknown field "extra"', 'scenario: (root): unknown field "bogus"']);
  });
});
