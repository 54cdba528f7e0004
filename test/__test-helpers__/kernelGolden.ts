/**
 * Golden dmesg transcripts: run a bring-up scenario on the real module and compare the dmesg
 * (without timestamps) with test/golden/dmesg/<kernel>/<name>.txt, exactly. Accept new output
 * explicitly with `UPDATE_GOLDEN=1 npx vitest run test/unit/kernel/golden.spec.ts`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { KernelProfile, KernelProfileName } from '../../src/kernel/profiles.js';
import type { PlatformSpecInput } from '../../src/platform/spec.js';
import { kernelRig } from './kernelMachine.js';

/** One golden scenario. */
export interface GoldenCase {
  readonly name: string;
  readonly preset: string;
  readonly kernel: KernelProfileName;
  readonly module?: string;
  readonly overrides?: Record<string, number>;
  readonly edit?: (s: PlatformSpecInput) => void;
  readonly kernelOverrides?: Partial<Omit<KernelProfile, 'name'>>;
  /** Fault sites armed before KVM loads: [site, count]. */
  readonly faults?: readonly (readonly [string, number])[];
  /** Create a TD that writes its memory, then destroy it (when TDX came up). */
  readonly td?: boolean;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'dmesg');

/** Run a golden case and return its transcript (one line per dmesg record, plus a result line). */
export function runGolden(c: GoldenCase): string {
  const r = kernelRig(c.preset, {
    module: 'real',
    kernel: c.kernel,
    ...(c.module === undefined ? {} : { moduleProfile: c.module }),
    ...(c.kernelOverrides === undefined ? {} : { kernelOverrides: c.kernelOverrides }),
    edit: (s) => {
      if (c.overrides !== undefined) {
        s.tdxModule = { ...(s.tdxModule ?? {}), overrides: c.overrides };
      }
      c.edit?.(s);
    },
  });
  for (const [site, n] of c.faults ?? []) {
    r.faults.arm(site, n);
  }
  const kvm = r.run(r.m.loadKvm());
  const out = [...r.lines()];
  const results = [`# modprobe kvm_intel tdx=1: ${kvm}, TDX ${r.m.kernel.kvm.enable_tdx ? 'enabled' : 'disabled'}, module ${r.m.kernel.tdx.tdx_module_status}`];
  if (c.td === true && r.m.kernel.kvm.enable_tdx) {
    const n = r.lines().length;
    const { ret, td } = r.run(r.m.createTd({ pages: 8, runCpu: 1 }));
    results.push(`# create TD: ${ret}${td === undefined ? '' : ` (HKID ${td.hkid})`}`);
    if (td !== undefined && ret === 0) {
      results.push(`# destroy TD: ${r.run(r.m.destroyTd(td))}`);
    }
    out.push(...r.lines().slice(n));
  }
  return `${[...out, ...results].join('\n')}\n`;
}

/** Path of a case's golden file. */
export function goldenPath(c: GoldenCase): string {
  return join(ROOT, c.kernel, `${c.name}.txt`);
}

/** Compare with (or, with UPDATE_GOLDEN=1, write) the golden file. Returns [actual, expected]. */
export function checkGolden(c: GoldenCase): [string, string] {
  const actual = runGolden(c);
  const p = goldenPath(c);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(p)) {
    if (process.env.UPDATE_GOLDEN !== '1') {
      throw new Error(`no golden file ${p}; run with UPDATE_GOLDEN=1 to accept:\n${actual}`);
    }
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, actual);
  }
  return [actual, readFileSync(p, 'utf8')];
}
