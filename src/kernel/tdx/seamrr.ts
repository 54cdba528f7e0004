/**
 * Boot detection of the February 2022 RFC: probe SEAMRR (the SEAM range registers) and the
 * KeyID partitioning on every CPU. The boot CPU records what it finds; every AP must agree,
 * otherwise TDX is disabled.
 * @see linux (RFC, Feb 2022) arch/x86/virt/vmx/tdx.c tdx_detect_cpu(), detect_seam(), detect_tdx_keyids()
 */
import type { Cpu } from '../../platform/Cpu.js';
import { MSR_IA32_MKTME_KEYID_PARTITIONING, MSR_IA32_MTRRCAP, MSR_IA32_SEAMRR_PHYS_BASE, MSR_IA32_SEAMRR_PHYS_MASK } from '../../platform/Msr.js';
import type { Kernel } from '../Kernel.js';

const MTRR_CAP_SEAMRR = 1n << 15n;
const SEAMRR_PHYS_BASE_CONFIGURED = 1n << 3n;
const SEAMRR_PHYS_MASK_ENABLED = 1n << 11n;
const SEAMRR_PHYS_MASK_LOCKED = 1n << 10n;

/** What the boot CPU recorded, for the APs to compare against. */
export interface SeamrrRecord {
  base: bigint;
  mask: bigint;
  keyids: bigint;
  ok: boolean;
}

/**
 * Probe one CPU. On the boot CPU print what was found and, if SEAMRR and at least two TDX
 * KeyIDs are present, mark the platform TDX-capable (platform_has_tdx()). On an AP compare
 * with the boot CPU and disable TDX on any difference.
 */
export function tdx_detect_cpu_seamrr(k: Kernel, cpu: Cpu, isBsp: boolean): void {
  const t = k.tdx;
  const cap = cpu.msrs.get(MSR_IA32_MTRRCAP) ?? 0n;
  const base = cpu.msrs.get(MSR_IA32_SEAMRR_PHYS_BASE) ?? 0n;
  const mask = cpu.msrs.get(MSR_IA32_SEAMRR_PHYS_MASK) ?? 0n;
  const keyids = cpu.msrs.get(MSR_IA32_MKTME_KEYID_PARTITIONING) ?? 0n;
  if (!isBsp) {
    const r = t.seamrrBsp;
    if (r === undefined || !r.ok) {
      return;
    }
    if (base !== r.base || mask !== r.mask) {
      k.log.err('Inconsistent SEAMRR configuration by BIOS');
      disable(k, r);
    } else if (keyids !== r.keyids) {
      k.log.err('Inconsistent TDX KeyID configuration among packages by BIOS');
      disable(k, r);
    }
    return;
  }
  const rec: SeamrrRecord = { base, mask, keyids, ok: false };
  t.seamrrBsp = rec;
  if ((cap & MTRR_CAP_SEAMRR) === 0n) {
    return;
  }
  if ((base & SEAMRR_PHYS_BASE_CONFIGURED) === 0n) {
    k.log.err('SEAMRR base is not configured by BIOS');
    return;
  }
  if ((mask & SEAMRR_PHYS_MASK_ENABLED) === 0n || (mask & SEAMRR_PHYS_MASK_LOCKED) === 0n) {
    k.log.err('SEAMRR is not enabled by BIOS');
    return;
  }
  k.log.info('SEAMRR enabled.');
  const nr_mktme = Number(keyids & 0xffffffffn);
  const nr_tdx = Number(keyids >> 32n);
  if (nr_tdx === 0) {
    return;
  }
  const start = nr_mktme + 1;
  k.log.info(k.profile.strings.keyidRange(start, start + nr_tdx));
  if (nr_tdx < 2) {
    k.log.err(k.profile.strings.tooFewKeyids(nr_tdx));
    return;
  }
  k.log.info('TDX enabled by BIOS.');
  rec.ok = true;
  t.memNotifierRegistered = true;
  t.tdx_keyid_start = start;
  t.nr_tdx_keyids = nr_tdx;
  t.tdx_global_keyid = start;
  t.tdx_guest_keyid_start = start + 1;
  t.tdx_nr_guest_keyids = nr_tdx - 1;
  t.hostPlatform = true;
  t.bugPwMce = k.platform.hasPartialWriteErratum;
}

function disable(k: Kernel, r: SeamrrRecord): void {
  r.ok = false;
  k.tdx.hostPlatform = false;
  k.tdx.tdx_nr_guest_keyids = 0;
}
