/**
 * Interrupt latency as a choice (src/scenario/latency.ts): the stop race of linux-6.18 found from
 * the plain kexec scenario with no tuned delay, and the pre-6.5 hole (the kexec jump overtaking
 * a remote stop_this_cpu() WBINVD) found on the 2022 drafts and proved gone on 6.5+.
 */
import { describe, expect, it } from 'vitest';

import { exploreScenario, formatTimeline, replayScenario } from '../../src/api/index.js';
import type { Finding } from '../../src/api/index.js';

const now = (): number => Number(process.hrtime.bigint() / 1_000_000n);

/** The replay command's arguments back as a request. */
function fromCommand(cmd: string): { scenario: string; path: string; cpus?: number; kernel?: string } {
  const a = cmd.split(' ');
  const arg = (k: string): string | undefined => {
    const i = a.indexOf(k);
    return i < 0 ? undefined : a[i + 1];
  };
  const path = arg('--path') ?? '';
  const cpus = arg('--cpus');
  const kernel = arg('--kernel');
  return { scenario: a[2] as string, path: path === '""' ? '' : path, ...(cpus !== undefined ? { cpus: Number(cpus) } : {}), ...(kernel !== undefined ? { kernel } : {}) };
}

/** The jump overtook a remote WBINVD: a CPU still inside it at the jump, or a stale write-back. */
const overtaken = (f: Finding): boolean => f.class === 'silent-corruption' || (f.class === 'cpu-still-running' && String(f.details['pausedAt']).startsWith('stop_this_cpu:wbinvd'));

describe('exploration with interrupt latency as a choice', () => {
  for (const cpus of [2, 3, 4, 8]) {
    it(`finds the linux-6.18 stop race from the untuned kexec scenario on ${cpus} CPUs, and the printed command replays it`, () => {
      const r = exploreScenario({ scenario: 'kexec-linux-6.18', strategy: 'random', timeSec: 20, seed: 1, cpus, now });
      const cx = r.details.counterexample!;
      expect(r.details.outcome).toBe('failed');
      expect(cx.finding.class).toBe('cpu-still-running');
      expect(cx.replayed).toBe(true);
      // REBOOT taken after the 1 s wait timed out, the NMI wakes the halted CPU, CPU 0 jumps.
      expect(formatTimeline(cx.timeline).join('\n')).toMatch(/take REBOOT[\s\S]*send NMI to CPU[\s\S]*kexec jump/);
      const again = replayScenario(fromCommand(r.replay!));
      expect(again.execution.findings.map((f) => f.class)).toContain('cpu-still-running');
    });
  }

  it('without latency choices the free policy never lets the REBOOT IPI come late: nothing found', () => {
    const r = exploreScenario({ scenario: 'kexec-linux-6.18', strategy: 'random', budget: 300, seed: 1, cpus: 2, latency: false, now });
    expect(r.details.counterexample).toBeUndefined();
  });

  for (const kernel of ['tdx-host-v8', 'tdx-host-rfc']) {
    it(`${kernel} (pre-6.5 num_online_cpus() wait): the kexec jump overtakes a remote stop_this_cpu() WBINVD`, () => {
      const r = exploreScenario({ scenario: 'kexec-linux-6.18', kernel, strategy: 'random', budget: 500, seed: 1, cpus: 3, now, failOn: ['cpu-still-running'], failIf: overtaken });
      const cx = r.details.counterexample!;
      expect(cx.finding.details).toMatchObject({ pausedAt: expect.stringMatching(/^stop_this_cpu:wbinvd/) as unknown });
      expect(cx.replayed).toBe(true);
      const again = replayScenario(fromCommand(r.replay!));
      expect(again.execution.findings.some(overtaken)).toBe(true);
    });
  }

  it('linux-6.18 (cpus_stop_mask, 6.5+): exhaustive search over 2 CPUs with every REBOOT latency proves the hole gone', () => {
    const r = exploreScenario({ scenario: 'kexec-linux-6.18', strategy: 'exhaustive', cpus: 2, now, failIf: overtaken });
    expect(r.details.outcome).toBe('passed');
    expect(r.details.complete).toBe(true);
  });
});
