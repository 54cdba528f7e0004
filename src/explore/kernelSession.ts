/**
 * The kernel side of a scenario run: boots kernels on the platform, runs kernel-level steps
 * through the scheduler, and reports dmesg and kernel-side findings. (Wired to the kernel model
 * by the bring-up work; until then kernel scenarios are rejected as unavailable.)
 */
import { ModelBug } from '../base/assert.js';
import type { KernelSession, RunContext } from './runScenario.js';

/** Kernel profiles a scenario may name. */
export function kernelProfileNames(): string[] {
  return ['linux-6.18', 'linux-6.8', 'tdx-host-v8', 'tdx-host-rfc', 'cmr-holes'];
}

/** Module profiles a scenario may name. */
export function moduleProfileNames(): string[] {
  return ['tdx-1.0', 'tdx-1.5', 'tdx-1.5-late'];
}

/** Create the kernel session for a run. */
export function createKernelSession(_ctx: RunContext): KernelSession {
  throw new ModelBug('kernel scenarios are not wired yet');
}
