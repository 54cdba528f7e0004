import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';

import { counterexampleScenario, exploreScenario, namedScenario, run, scenarioJsonSchema, scenarioNames } from '../../src/api/index.js';
import { tdxsim, tempFile } from '../__test-helpers__/cli.js';

describe('scenario files people write', () => {
  it('tdxsim scenarios NAME --json prints every embedded scenario as a file valid against the schema', () => {
    const check = new Ajv({ allErrors: true }).compile(scenarioJsonSchema('draft-7') as object);
    const published = tdxsim(['schema', 'scenario']);
    expect(published.status).toBe(0);
    expect(JSON.parse(published.stdout)).toEqual(scenarioJsonSchema());
    const r = tdxsim(['scenarios', 'kexec-stop-race', '--json']);
    expect(r.status).toBe(0);
    const sc = JSON.parse(r.stdout) as { name: string; schedule: unknown };
    expect(sc.name).toBe('kexec-stop-race');
    expect(sc.schedule).toEqual({ policy: 'free', path: '1.1.0.0.2.0.1.1' });
    expect(check(sc), JSON.stringify(check.errors)).toBe(true);
    // It runs as a file, with the verdict of the embedded scenario.
    const run = tdxsim(['run', tempFile('race.json', r.stdout), '--json']);
    expect(run.status).toBe(0);
    expect((JSON.parse(run.stdout) as { findings: { class: string }[] }).findings.map((f) => f.class)).toEqual(['cpu-still-running']);
    // Every embedded scenario: the same object the command prints (namedScenario), checked in-process.
    for (const n of scenarioNames()) {
      expect(check(JSON.parse(JSON.stringify(namedScenario(n)))), n).toBe(true);
    }
    expect(scenarioNames()).toContain('kexec-stop-race');
    const bad = tdxsim(['scenarios', 'kexec-stop-rcae']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^tdxsim: unknown scenario "kexec-stop-rcae" \(known: /);
  });

  it('explore --save-counterexample writes a scenario that run reproduces with the same finding', () => {
    const file = join(dirname(tempFile('x', '')), 'cx.json');
    const ex = tdxsim(['explore', 'kexec-race-2cpu', '--seed', '1', '--save-counterexample', file, '--json']);
    expect(ex.status).toBe(1);
    const cx = (JSON.parse(ex.stdout) as { counterexample: { path: string; finding: { class: string; message: string }; timeline: { t: number; cpu: number; kind: string; label: string; fields: Record<string, unknown> }[] } }).counterexample;
    expect(ex.stderr).toContain(`wrote the counterexample to ${file}`);
    // --json: the timeline is data, not rows; the NMI to CPU 1 is a mark with its fields.
    expect(cx.timeline.find((m) => m.kind === 'nmi' && m.cpu === 0)).toMatchObject({ label: 'send NMI to CPU 1', fields: { dir: 'send', vector: 'NMI', to: 1 } });
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { schedule: unknown; steps: { op: string }[] };
    expect(saved.schedule).toEqual({ policy: 'explored', path: cx.path, faults: 'none', faultChoices: 'weighted', latency: true });
    expect(saved.steps.map((s) => s.op)).toEqual(['boot', 'kvm.load', 'td.create', 'kexec']);
    expect(new Ajv().compile(scenarioJsonSchema('draft-7') as object)(saved)).toBe(true);
    const r = tdxsim(['run', file, '--json']);
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout) as { verdict: string; findings: { class: string; message: string; path: string }[] };
    expect(out.verdict).toBe('fail');
    expect(out.findings.map((f) => [f.class, f.message, f.path])).toEqual([[cx.finding.class, cx.finding.message, cx.path]]);
  });

  it('with --cpus and a fault plan, the schedule keeps both and run reproduces the finding', () => {
    const req = { scenario: 'kexec-race-2cpu', cpus: 3, faults: 'swarm' } as const;
    const ex = exploreScenario(req);
    const cx = ex.details.counterexample!;
    const saved = counterexampleScenario(req, ex) as { schedule: { cpus: number; faults: string; policy: string } };
    expect(saved.schedule).toMatchObject({ policy: 'explored', cpus: 3, faults: cx.faultsArg });
    const r = run({ scenarioObject: JSON.parse(JSON.stringify(saved)) });
    expect(r.findings.map((f) => f.message)).toContain(cx.finding.message);
  });

  it('a CPU count that drops a CPU the steps name is bad input (exit 2), for schedules, explore and trace alike', () => {
    const sc = { ...(namedScenario('kexec-race-2cpu') as Record<string, unknown>), schedule: { policy: 'explored', cpus: 1 } };
    const msg = 'step 2 (td.create): CPU 1 does not exist on platform small-2c resized to 1 CPUs';
    expect(() => run({ scenarioObject: sc })).toThrow(`kexec-race-2cpu: schedule.cpus: ${msg}`);
    expect(() => exploreScenario({ scenario: 'kexec-race-2cpu', cpus: 1, budget: 1 })).toThrow(`--cpus: ${msg}`);
    const r = tdxsim(['trace', 'kexec-race-2cpu', '--cpus', '1', '-o', '-']);
    expect([r.status, r.stdout, r.stderr]).toEqual([2, '', `tdxsim: --cpus: ${msg}\n`]);
  });
});
