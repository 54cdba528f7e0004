/**
 * Boot detection of the February 2022 RFC: probe SEAMRR (the SEAM range registers) and the
 * KeyID partitioning on every CPU. The boot CPU records what it finds; every AP must agree,
 * otherwise TDX is disabled.
 * @see linux (RFC, Feb 2022) arch/x86/virt/vmx/tdx.c tdx_detect_cpu(), detect_seam(), detect_tdx_keyids()
 */
import type { Cpu } from '../../platform/Cpu.js';
import { MSR_IA32_MKTME_KEYID_PARTITIONING, MSR_IA32_MTRRCAP, MSR_IA32_SEAMRR_PHYS_BASE, MSR_IA32_SEAMRR_PHYS_MASK } from '../../platform/Msr.js';
import type { Kernel } from '../Kernel.js';
import { enable_tdx_host, record_keyid_partitioning } from './tdx.js';

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
  // pr_info, and nothing at all on success. @see linux (RFC-era tdx.c) detect_seam_bsp()
  if ((base & SEAMRR_PHYS_BASE_CONFIGURED) === 0n) {
    k.log.info('SEAMRR base is not configured by BIOS');
    return;
  }
  if ((mask & SEAMRR_PHYS_MASK_ENABLED) === 0n || (mask & SEAMRR_PHYS_MASK_LOCKED) === 0n) {
    k.log.info('SEAMRR is not enabled by BIOS');
    return;
  }
  const split = record_keyid_partitioning(k, keyids);
  if (split === undefined) {
    return;
  }
  rec.ok = true;
  t.memNotifierRegistered = k.profile.memHotplug === 'notifier';
  enable_tdx_host(k, split);
}

function disable(k: Kernel, r: SeamrrRecord): void {
  r.ok = false;
  k.tdx.hostPlatform = false;
  k.tdx.tdx_nr_guest_keyids = 0;
}
