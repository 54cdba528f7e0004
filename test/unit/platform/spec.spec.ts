import { describe, expect, it } from 'vitest';

import { parsePlatformSpec, platformJsonSchema, withHexAddresses } from '../../../src/platform/spec.js';
import { presetInput, presetNames } from '../../../src/platform/presets.js';

function problems(mutate: (p: Record<string, any>) => void): string[] {
  const p = presetInput('small-2s') as Record<string, any>;
  mutate(p);
  const r = parsePlatformSpec(p);
  return r.ok ? [] : r.problems.map((x) => `${x.path}: ${x.message}`);
}

describe('platform description validation', () => {
  it('accepts every preset', () => {
    for (const n of presetNames()) {
      expect(parsePlatformSpec(presetInput(n)).ok, n).toBe(true);
    }
  });

  it('rejects unknown fields with their path', () => {
    expect(problems((p) => (p['topology']['sockets'] = 2))).toEqual(['topology: Unrecognized key: "sockets"']);
  });

  it('rejects overlapping e820 ranges', () => {
    expect(problems((p) => p['memory']['e820'].push({ base: 0x1000, size: 0x1000, type: 'reserved' }))).toEqual([
      'memory.e820[7]: overlaps memory.e820[0] ([0x0, 0x9f000))',
    ]);
  });

  it('rejects CMRs out of order', () => {
    expect(problems((p) => p['cmrs'].reverse())).toEqual(['cmrs[1]: out of order or overlapping: starts at 0x0 before cmrs[0] ends (0x200000000)']);
  });

  it('rejects sizes that are not 4 KiB multiples', () => {
    expect(problems((p) => (p['cmrs'][0].size = 0x7c000800))).toEqual(['cmrs[0].size: 0x7c000800 is not a multiple of 4 KiB']);
  });

  it('rejects KeyID counts that do not fit the KeyID bits', () => {
    expect(problems((p) => (p['keyids'] = { bits: 4, mktme: 15, tdx: 48 }))).toEqual(['keyids: 15 MKTME + 48 TDX KeyIDs do not fit 4 KeyID bits (at most 15)']);
  });

  it('rejects CPU counts that do not fit the topology', () => {
    expect(problems((p) => (p['topology']['logicalCpus'] = 6))).toEqual([
      'topology.logicalCpus: 6 does not fit the topology (2 packages x 1 cores x 2 threads = 4)',
    ]);
    expect(problems((p) => (p['topology']['offlineAtBoot'] = [9]))).toEqual(['topology.offlineAtBoot[0]: CPU 9 does not exist (4 logical CPUs)']);
  });

  it('rejects negative and non-integer numbers', () => {
    expect(problems((p) => (p['seamrr']['size'] = -1))).toEqual(['seamrr.size: expected a non-negative integer, got -1']);
    expect(problems((p) => (p['seamrr']['base'] = 1.5))).toEqual(['seamrr.base: expected a non-negative integer, got 1.5']);
    expect(problems((p) => (p['seamrr']['base'] = '0xZZ'))).toEqual(['seamrr.base: expected a non-negative integer or hex string, got "0xZZ"']);
  });

  it('accepts hex strings for addresses', () => {
    const p = presetInput('small-2s') as Record<string, any>;
    p['seamrr']['base'] = '0x80000000';
    const r = parsePlatformSpec(p);
    expect(r.ok && r.spec.seamrr.base).toBe(0x80000000);
  });

  it('every preset written with hex addresses and sizes validates to the same platform', () => {
    for (const name of presetNames()) {
      const input = presetInput(name)!;
      const hex = withHexAddresses(input);
      expect(parsePlatformSpec(hex), name).toEqual(parsePlatformSpec(input));
    }
    const ref = withHexAddresses(presetInput('ref')!);
    expect(ref.memory.e820[4]).toEqual({ base: '0x100000000', size: '0x100000000', type: 'usable' });
    expect(ref.seamrr).toEqual({ base: '0x80000000', size: '0x2000000', enabled: true, locked: true });
    expect(ref.cmrs).toEqual([
      { base: '0x0', size: '0x80000000' },
      { base: '0x100000000', size: '0x100000000' },
    ]);
    expect(ref.keyids).toEqual({ bits: 6, mktme: 31, tdx: 32 });
  });

  it('the JSON Schema describes every field, for editor hints', () => {
    const s = platformJsonSchema() as Record<string, any>;
    const missing: string[] = [];
    const walk = (o: Record<string, any>, path: string): void => {
      for (const [k, v] of Object.entries((o['properties'] ?? {}) as Record<string, Record<string, any>>)) {
        if (typeof v['description'] !== 'string' || v['description'] === '') {
          missing.push(`${path}${k}`);
        }
        walk(v, `${path}${k}.`);
        if (v['items'] !== undefined) {
          walk(v['items'] as Record<string, any>, `${path}${k}[].`);
        }
      }
    };
    walk(s, '');
    expect(missing).toEqual([]);
    expect(s['properties']['keyids']['properties']['tdx']['description']).toBe('NUM_TDX_PRIV_KIDS (MSR 0x87 bits 63:32): private KeyIDs for TDX; 0 means the BIOS did not enable TDX');
    expect(s['properties']['seamrr']['properties']['base']['description']).toBe('start of SEAMRR (the range holding the TDX module): a physical address, as a "0x..." hex string (e.g. "0x100000000") or a number of bytes');
  });

  it('publishes a JSON Schema that names the fields', () => {
    const s = platformJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(s.properties)).toEqual(expect.arrayContaining(['cpuModel', 'topology', 'memory', 'cmrs', 'seamrr', 'smrr', 'keyids', 'cache', 'costs', 'tdxModule']));
    expect(s.required).toEqual(expect.arrayContaining(['cpuModel', 'topology', 'memory', 'cmrs', 'keyids']));
  });
});
