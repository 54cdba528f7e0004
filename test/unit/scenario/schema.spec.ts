import { readFileSync } from 'node:fs';

import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';

import { platformJsonSchema } from '../../../src/platform/spec.js';
import { parseScenario, scenarioJsonSchema } from '../../../src/scenario/scenario.js';
import { namedScenario, scenarioNames } from '../../../src/scenario/scenarios/index.js';

/** A JSON Schema validator independent of zod (ajv 6 reads draft-7). */
function validator(): (v: unknown) => string[] {
  const ajv = new Ajv({ allErrors: true });
  const check = ajv.compile(scenarioJsonSchema('draft-7') as object);
  return (v) => (check(v) ? [] : (check.errors ?? []).map((e) => `${e.dataPath} ${e.message ?? ''}`));
}

describe('scenario JSON Schema', () => {
  it('the published files are what the zod definitions generate', () => {
    expect(readFileSync(new URL('../../../schema/scenario.schema.json', import.meta.url), 'utf8')).toBe(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
    expect(readFileSync(new URL('../../../schema/platform.schema.json', import.meta.url), 'utf8')).toBe(`${JSON.stringify(platformJsonSchema(), null, 2)}\n`);
  });

  it('names the fields, the step ops, the schedule policies and the kernel overrides', () => {
    const s = scenarioJsonSchema() as { $schema: string; properties: Record<string, { properties?: Record<string, { enum?: string[] }>; items?: { oneOf: { properties: { op: { const: string } } }[] } }> };
    expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.keys(s.properties)).toEqual(['$schema', 'name', 'description', 'platform', 'kernel', 'module', 'seed', 'steps', 'variants', 'kernelOverrides', 'schedule', 'expect']);
    expect(s.properties['steps']!.items!.oneOf.map((o) => o.properties.op.const)).toEqual(['store', 'movdir64b', 'clflush', 'wbinvd', 'wbnoinvd', 'evict', 'load', 'boot', 'kvm.load', 'tdx.enable', 'td.create', 'td.destroy', 'td.run', 'td.release', 'cpu.offline', 'cpu.online', 'mem.online', 'kexec', 'crash', 'fault']);
    expect(s.properties['schedule']!.properties!['policy']!.enum).toEqual(['timed', 'free', 'explored']);
    expect(Object.keys(s.properties['kernelOverrides']!.properties!)).toEqual(['cacheStateFlag', 'stopThisCpuWbinvd', 'relocateWbinvd', 'earlyFlush', 'earlyFlushBy', 'flagClear', 'stopProtocol', 'stopRebootWaitMs', 'nmiFallback', 'sysDisable', 'kexecAllowed', 'refuseOnErratum']);
  });

  it('every embedded scenario validates against it (and against zod)', () => {
    const check = validator();
    expect(scenarioNames().length).toBeGreaterThan(10);
    for (const n of scenarioNames()) {
      const sc = JSON.parse(JSON.stringify(namedScenario(n))) as unknown;
      expect(check(sc), n).toEqual([]);
      expect(parseScenario(sc).ok, n).toBe(true);
    }
  });

  it('refuses what zod refuses: an unknown op, an unknown field, a bad override value', () => {
    const check = validator();
    expect(check({ steps: [{ op: 'reboot' }] }).length).toBeGreaterThan(0);
    expect(check({ steps: [], colour: 'red' })).toEqual([' should NOT have additional properties']);
    expect(check({ kernelOverrides: { relocateWbinvd: 'sometimes' } })).toEqual(['.kernelOverrides.relocateWbinvd should be equal to one of the allowed values']);
    expect(check({ schedule: { policy: 'explored', path: '1.0.2', faults: 'none', cpus: 3 } })).toEqual([]);
  });
});
