/**
 * Named scenarios embedded in tdxsim (`tdxsim run --scenario NAME`). Each is plain scenario
 * input, validated like a user's file.
 */
import type { ScenarioInput } from '../scenario.js';
import { KERNEL_SCENARIOS } from './kernel.js';

const LINE = '0x10000000';

/**
 * Two CPUs write the same physical line through two KeyIDs; the caches are then written back
 * in both orders. The order that writes the stale private alias last corrupts memory.
 */
const cacheAlias: ScenarioInput = {
  name: 'cache-alias',
  description: 'CPU 0 writes a line through KeyID 17, CPU 1 writes it through KeyID 0; both caches are written back in each order.',
  platform: 'small-2s',
  steps: [
    { op: 'store', cpu: 0, pa: LINE, keyId: 17, fill: 0x11 },
    { op: 'store', cpu: 1, pa: LINE, keyId: 0, fill: 0x22 },
  ],
  variants: [
    { name: 'cpu0-then-cpu1', steps: [{ op: 'wbinvd', cpu: 0 }, { op: 'wbinvd', cpu: 1 }, { op: 'load', cpu: 1, pa: LINE, len: 64, keyId: 0 }] },
    { name: 'cpu1-then-cpu0', steps: [{ op: 'wbinvd', cpu: 1 }, { op: 'wbinvd', cpu: 0 }, { op: 'load', cpu: 1, pa: LINE, len: 64, keyId: 0 }] },
  ],
  expect: { findings: ['silent-corruption'] },
};

const SCENARIOS: Record<string, ScenarioInput> = {
  'cache-alias': cacheAlias,
  ...KERNEL_SCENARIOS,
};

/** Names of the embedded scenarios. */
export function scenarioNames(): string[] {
  return Object.keys(SCENARIOS).sort();
}

/** An embedded scenario's input, or undefined. */
export function namedScenario(name: string): ScenarioInput | undefined {
  const s = Object.hasOwn(SCENARIOS, name) ? SCENARIOS[name] : undefined;
  return s === undefined ? undefined : structuredClone(s);
}
