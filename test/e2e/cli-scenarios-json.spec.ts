/**
 * An embedded scenario can be printed as a scenario file (`tdxsim scenarios NAME`) that `run`
 * accepts and that runs as the embedded one does; `--kernel` help lists every profile a shipped
 * scenario uses.
 */
import { writeFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { namedScenario } from '../../src/scenario/scenarios/index.js';
import { tdxsim, tempFile } from '../__test-helpers__/cli.js';

describe('tdxsim scenarios NAME', () => {
  it('prints the embedded scenario as JSON; run of that file gives the same result as --scenario', () => {
    const printed = tdxsim(['scenarios', 'kexec-mutant']);
    expect(printed.status).toBe(0);
    expect(JSON.parse(printed.stdout)).toEqual(namedScenario('kexec-mutant'));
    const file = tempFile('kexec-mutant.json', '');
    writeFileSync(file, printed.stdout);
    const fromFile = JSON.parse(tdxsim(['run', file, '--json']).stdout) as unknown;
    const embedded = JSON.parse(tdxsim(['run', '--scenario', 'kexec-mutant', '--json']).stdout) as unknown;
    expect(fromFile).toEqual(embedded);
  });

  it('an unknown name is bad input, prototype names included', () => {
    for (const name of ['nope', '__proto__']) {
      const r = tdxsim(['scenarios', name]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^tdxsim: unknown scenario "${name}" \\(known: bringup, cache-alias, default, `));
    }
  });

  it('--kernel help names the mutant kernel the kexec-mutant scenario uses', () => {
    const h = tdxsim(['run', '--help']).stdout.replace(/\s+/g, ' ');
    expect(h).toContain('mutant-no-kexec-wbinvd (6.18 without kexec-time WBINVD, wrong on purpose)');
    expect(namedScenario('kexec-mutant')?.kernel).toBe('mutant-no-kexec-wbinvd');
  });

  it('presets NAME prints addresses and sizes in hex, and the file it prints runs as --platform', () => {
    const r = tdxsim(['presets', 'ref']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { memory: { e820: unknown[] }; seamrr: unknown; topology: unknown };
    expect(j.memory.e820[2]).toEqual({ base: '0x100000', size: '0x7ff00000', type: 'usable' });
    expect(j.seamrr).toEqual({ base: '0x80000000', size: '0x2000000', enabled: true, locked: true });
    expect(j.topology).toEqual({ packages: 2, coresPerPackage: 1, threadsPerCore: 2 });
    expect(r.stdout).not.toMatch(/"(base|size)": \d/);
    const file = tempFile('ref.json', r.stdout);
    const run = tdxsim(['run', '--platform', file]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('verdict: pass');
  });

  it('presets lists each preset with CPU model, topology, usable RAM and KeyIDs', () => {
    const r = tdxsim(['presets']);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('small-2s     granite-rapids, 2 package(s) x 1 cores x 2 thread(s) = 4 CPUs, 5.9 GiB usable RAM, KeyIDs: 15 MKTME + 48 TDX');
    expect(lines.filter((l) => l !== '')).toHaveLength(7);
  });
});
