/**
 * Module and server benchmarks (issue 3): TDH.SYS.TDMR.INIT calls per second in straight-line
 * module code (a 1 TiB TDMR = 262,144 calls, each with its real memory effects on the platform:
 * MOVDIR64B and the PAMT_2M/1G stores), and SEAMCALL round trips per second through
 * `tdxsim serve --stdio`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { cpuId } from '../base/ids.js';
import { createModuleMachine, seamcallSync } from '../machine/moduleMachine.js';
import type { ModuleMachine } from '../machine/moduleMachine.js';
import type { SeamEnv, SeamRegs } from '../platform/Seam.js';
import { seamRegs } from '../platform/Seam.js';
import { presetInput } from '../platform/presets.js';
import { parsePlatformSpec } from '../platform/spec.js';
import type { Bench } from './types.js';

const GiB = 2 ** 30;
const TiB = 2 ** 40;
const TDMR_BASE = 4 * GiB;

function u64s(vals: number[]): Uint8Array {
  const b = new Uint8Array(8 * vals.length);
  const dv = new DataView(b.buffer);
  vals.forEach((v, i) => dv.setBigUint64(8 * i, BigInt(v), true));
  return b;
}

/** REF with 1 TiB above 4 GiB, brought to SYS_READY with one 1 TiB TDMR (PAMT at its top). */
export function readyTiBMachine(): ModuleMachine {
  const ref = presetInput('ref');
  const spec = parsePlatformSpec({
    ...ref,
    name: 'ref-1t',
    memory: { e820: [{ base: 0x100000, size: 0x7ff00000, type: 'usable' }, { base: TDMR_BASE, size: TiB, type: 'usable' }], nodes: [] },
    cmrs: [
      { base: 0, size: 0x80000000 },
      { base: TDMR_BASE, size: TiB },
    ],
  });
  if (!spec.ok) {
    throw new Error(JSON.stringify(spec.problems));
  }
  const m = createModuleMachine(spec.spec);
  for (const c of m.platform.cpus) {
    c.vmx = true;
  }
  const ok = (lp: number, r: Partial<Record<keyof SeamRegs, bigint>>): void => {
    const o = seamcallSync(m, lp, seamRegs(r));
    if (o.kind !== 'ok' || o.regs.rax !== 0n) {
      throw new Error(`bench setup: leaf ${r.rax} failed: ${o.kind === 'ok' ? o.regs.rax.toString(16) : o.kind}`);
    }
  };
  ok(0, { rax: 33n });
  for (let lp = 0; lp < m.platform.cpus.length; lp++) {
    ok(lp, { rax: 35n });
  }
  // PAMT for 1 TiB: 4 GiB (4K) + 8 MiB (2M) + 16 KiB (1G), in a reserved area at the top.
  const p4k = 4 * GiB;
  const p2m = 8 * 2 ** 20;
  const p1g = 16 * 1024;
  const pamtBase = TDMR_BASE + TiB - 5 * GiB;
  const info = new Uint8Array(512);
  info.set(u64s([TDMR_BASE, TiB, pamtBase + p4k + p2m, p1g, pamtBase + p4k, p2m, pamtBase, p4k, TiB - 5 * GiB, 5 * GiB]));
  const cpu0 = m.platform.cpu(cpuId(0));
  m.platform.store(cpu0, 0x10000000, info, 0, 'bench');
  m.platform.store(cpu0, 0x10001000, u64s([0x10000000]), 0, 'bench');
  ok(0, { rax: 45n, rcx: 0x10001000n, rdx: 1n, r8: 32n });
  ok(0, { rax: 31n });
  ok(2, { rax: 31n });
  return m;
}

/** A SEAM environment that records MOVDIR64B range operations and cached stores instead of applying them. */
function countingEnv(base: SeamEnv): { env: SeamEnv; ops: { n: number; bytes: number; stores: number } } {
  const ops = { n: 0, bytes: 0, stores: 0 };
  // The platform's env is a class instance: inherit its methods, override MOVDIR64B and stores.
  const env = Object.create(base) as SeamEnv;
  env.movdir64b = (_pa, len) => {
    ops.n++;
    ops.bytes += len;
  };
  env.fill = () => {
    ops.stores++;
  };
  return { env, ops };
}

/** Initialize the whole 1 TiB TDMR with straight-line calls into the module. */
function initAll(m: ModuleMachine, env: SeamEnv): { calls: number; seconds: number; last: bigint } {
  const regs = seamRegs({ rax: 36n, rcx: BigInt(TDMR_BASE) });
  const rax = regs.rax;
  const rcx = regs.rcx;
  let calls = 0;
  let last = 0n;
  const t0 = process.hrtime.bigint();
  for (;;) {
    regs.rax = rax;
    regs.rcx = rcx;
    const prog = m.module.seamcall(regs, env);
    let r = prog.next();
    while (r.done !== true) {
      r = prog.next();
    }
    if (r.value.rax !== 0n) {
      last = r.value.rax;
      break;
    }
    calls++;
  }
  return { calls, seconds: Number(process.hrtime.bigint() - t0) / 1e9, last };
}

const ALREADY = 0x00000a0300000000n;

const tdmrInit: Bench = {
  name: 'module.tdmr-init-1t',
  target: '>= 1,000,000 TDH.SYS.TDMR.INIT calls/s in straight-line module code (1 TiB = 262,144 calls)',
  run() {
    const m = readyTiBMachine();
    const { env, ops } = countingEnv(m.platform.seamEnv(m.platform.cpu(cpuId(0))));
    const r = initAll(m, env);
    const callsPerSec = r.calls / r.seconds;
    return {
      metrics: { calls: r.calls, ms: r.seconds * 1000, callsPerSec, movdir64bOps: ops.n, storeOps: ops.stores, pamtMiB: ops.bytes / 2 ** 20, endedAlreadyInitialized: r.last === ALREADY ? 1 : 0 },
      pass: r.calls === 262_144 && r.last === ALREADY && callsPerSec >= 1_000_000,
    };
  },
};

const tdmrInitPlatform: Bench = {
  name: 'module.tdmr-init-1t-with-platform-memory',
  target: 'a 1 TiB TDMR (262,144 calls) initialized with every MOVDIR64B applied to platform memory in < 3 s',
  run() {
    const m = readyTiBMachine();
    const r = initAll(m, m.platform.seamEnv(m.platform.cpu(cpuId(0))));
    return {
      metrics: { calls: r.calls, ms: r.seconds * 1000, callsPerSec: r.calls / r.seconds, memoryIntervals: m.platform.memory.lines.size },
      pass: r.calls === 262_144 && r.last === ALREADY && r.seconds < 3,
    };
  },
};

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Drive `tdxsim serve --stdio` with `n` SEAMCALLs, at most `window` in flight. */
function serverRoundTrips(n: number, window: number): Promise<{ seconds: number; replies: number }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [`${ROOT}dist/cli/main.js`, 'serve', '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let buf = '';
    let sent = 0;
    let replies = 0;
    let t0 = 0n;
    const line = (id: number): string => `{"id":${id},"method":"seamcall","params":{"machine":"m1","lp":0,"regs":{"rax":"0x22","rdx":"0x9100000100000008"}}}\n`;
    const pump = (): void => {
      let out = '';
      while (sent < n && sent - replies < window) {
        sent++;
        out += line(sent);
      }
      if (out !== '') {
        proc.stdin.write(out);
      }
    };
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (t0 === 0n) {
          // machine.create and SYS.INIT/LP.INIT replies: start the clock after them.
          if (l.startsWith('{"id":"setup-done"')) {
            t0 = process.hrtime.bigint();
            pump();
          }
          continue;
        }
        if (!l.includes('"TDX_SUCCESS"')) {
          reject(new Error(`unexpected reply: ${l}`));
          return;
        }
        replies++;
        if (replies === n) {
          const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
          proc.stdin.end();
          resolve({ seconds, replies });
          return;
        }
      }
      pump();
    });
    proc.on('error', reject);
    const setup = ['{"id":"a","method":"machine.create","params":{"platform":"ref"}}', '{"id":"b","method":"seamcall","params":{"machine":"m1","lp":0,"regs":{"rax":"0x21"}}}', '{"id":"c","method":"seamcall","params":{"machine":"m1","lp":0,"regs":{"rax":"0x23"}}}', '{"id":"setup-done","method":"server.info"}'];
    proc.stdin.write(`${setup.join('\n')}\n`);
  });
}

const serverStdio: Bench = {
  name: 'server.stdio-round-trips',
  target: '>= 50,000 SEAMCALL round trips/s through the server over stdio',
  async run() {
    const pipelined = await serverRoundTrips(200_000, 256);
    const sequential = await serverRoundTrips(20_000, 1);
    const perSec = pipelined.replies / pipelined.seconds;
    return {
      metrics: { roundTripsPerSec: perSec, window: 256, sequentialRoundTripsPerSec: sequential.replies / sequential.seconds, sequentialLatencyUs: (sequential.seconds / sequential.replies) * 1e6 },
      pass: perSec >= 50_000,
    };
  },
};

/** Benchmarks of the module and the SEAMCALL server. */
export const moduleBenches: Bench[] = [tdmrInit, tdmrInitPlatform, serverStdio];
