/**
 * Golden dmesg transcripts of every kernel profile on the presets, with the real module,
 * including the failure paths. Accept changes with UPDATE_GOLDEN=1.
 */
import { describe, expect, it } from 'vitest';

import { FAULT_PAMT_ALLOC } from '../../../src/kernel/mm/page_alloc.js';
import { checkGolden } from '../../__test-helpers__/kernelGolden.js';
import type { GoldenCase } from '../../__test-helpers__/kernelGolden.js';

const CASES: GoldenCase[] = [
  // Every profile with its default module on the small host and on the REF platform.
  ...(['linux-6.18', 'ubuntu-6.8-intel', 'tdx-host-v8', 'tdx-host-rfc', 'linux-6.6', 'linux-6.16', 'linux-7.1', 'linux-7.2'] as const).flatMap((kernel) => [
    { name: 'small-2s', preset: 'small-2s', kernel, td: true },
    { name: 'ref', preset: 'ref', kernel, td: true },
  ]),
  { name: 'spr-2s-256g', preset: 'spr-2s-256g', kernel: 'linux-6.18', td: true },
  { name: 'spr-2s-256g', preset: 'spr-2s-256g', kernel: 'ubuntu-6.8-intel' },
  // Failure paths.
  { name: 'no-module', preset: 'small-2s', kernel: 'linux-6.18', edit: (s) => void (s.tdxModule = { loaded: false }) },
  { name: 'no-module', preset: 'small-2s', kernel: 'tdx-host-rfc', edit: (s) => void (s.tdxModule = { loaded: false }) },
  { name: 'version-skew-tdx-1.0', preset: 'small-2s', kernel: 'ubuntu-6.8-intel', module: '1.0' },
  { name: 'module-tdx-1.5', preset: 'small-2s', kernel: 'linux-6.18', module: '1.5.01' },
  { name: 'tdmrs-exhausted', preset: 'small-2s', kernel: 'linux-6.18', overrides: { MAX_TDMRS: 2 } },
  { name: 'tdmrs-reaching-limit', preset: 'small-2s', kernel: 'linux-6.18', overrides: { MAX_TDMRS: 6 } },
  { name: 'rsvd-areas-exhausted', preset: 'small-2s', kernel: 'linux-6.18', overrides: { MAX_RESERVED_PER_TDMR: 1 } },
  { name: 'pamt-alloc-failure', preset: 'small-2s', kernel: 'linux-6.18', faults: [[FAULT_PAMT_ALLOC, 1]] },
  { name: 'key-config-entropy', preset: 'small-2s', kernel: 'linux-6.18', faults: [['pconfig.entropy', 1]] },
  { name: 'sys-init-rdrand-retried', preset: 'small-2s', kernel: 'linux-6.18', faults: [['rdrand', 9]] },
  { name: 'sys-init-rdrand-exhausted', preset: 'small-2s', kernel: 'linux-6.18', faults: [['rdrand', 10]] },
  { name: 'sys-init-rdrand-no-retry', preset: 'small-2s', kernel: 'tdx-host-rfc', faults: [['rdrand', 1]] },
  { name: 'key-config-entropy-erratum', preset: 'ref', kernel: 'linux-6.18', faults: [['pconfig.entropy', 1]] },
  { name: 'cpu-offline-at-init', preset: 'small-2s', kernel: 'linux-6.18', edit: (s) => void (s.topology.offlineAtBoot = [3]) },
  { name: 'cpu-offline-at-init', preset: 'small-2s', kernel: 'tdx-host-rfc', edit: (s) => void (s.topology.offlineAtBoot = [3]) },
  { name: 'too-few-keyids', preset: 'small-2s', kernel: 'linux-6.18', edit: (s) => void (s.keyids = { bits: 6, mktme: 15, tdx: 1 }) },
  { name: 'hibernation', preset: 'small-2s', kernel: 'linux-6.18', edit: (s) => void (s.firmware = { hibernation: true }) },
  // The catalogue's kernels on their failure paths.
  { name: 'no-module', preset: 'small-2s', kernel: 'linux-7.1', edit: (s) => void (s.tdxModule = { loaded: false }) },
  { name: 'no-module', preset: 'small-2s', kernel: 'ubuntu-6.8-intel', edit: (s) => void (s.tdxModule = { loaded: false }) },
  { name: 'version-skew-1.5.01', preset: 'small-2s', kernel: 'linux-7.1', module: '1.5.01' },
  { name: 'version-skew-1.5.01', preset: 'small-2s', kernel: 'linux-6.16', module: '1.5.01' },
  { name: 'version-skew-1.0', preset: 'small-2s', kernel: 'linux-7.1', module: '1.0' },
  { name: 'too-few-keyids', preset: 'small-2s', kernel: 'linux-7.1', edit: (s) => void (s.keyids = { bits: 6, mktme: 15, tdx: 1 }) },
  { name: 'module-1.5.01', preset: 'small-2s', kernel: 'ubuntu-6.8-intel', module: '1.5.01' },
  { name: 'v7-style-cpu-init', preset: 'small-2s', kernel: 'tdx-host-v8', kernelOverrides: { cpuInit: 'in-init' }, td: true },
];

describe('golden dmesg transcripts (UPDATE_GOLDEN=1 to accept)', () => {
  for (const c of CASES) {
    it(`${c.kernel}/${c.name}`, () => {
      const [actual, expected] = checkGolden(c);
      expect(actual).toBe(expected);
    });
  }
});
