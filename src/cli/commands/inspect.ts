/** `tdxsim inspect SCENARIO --at STEP|TIME|jump|end`: the machine at one moment, as crash shows a vmcore. */
import type { Command } from 'commander';

import { inspectScenario, parseMoment, TdxsimError } from '../../api/index.js';
import type { InspectView } from '../../api/index.js';
import type { CommandContext } from '../cli.js';
import { parseUint } from '../options.js';
import { executionOptions, executionRequest } from './trace.js';
import type { ExecutionOpts } from './trace.js';

interface InspectOpts extends ExecutionOpts {
  at: string;
  pamt?: string;
  cache?: number;
  line?: string;
  json?: boolean;
}

/** An address or length: decimal or 0x hex. */
function parseAddr(option: string, v: string): number {
  const t = v.trim();
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(t)) {
    throw new TdxsimError('TDXSIM_BAD_ARGS', `${option} "${v}": expected an address (decimal or 0x hex)`);
  }
  const n = Number(BigInt(t));
  if (n >= 2 ** 52) {
    throw new TdxsimError('TDXSIM_BAD_ARGS', `${option} "${v}": beyond the 52-bit physical address space`);
  }
  return n;
}

/** `--pamt ADDR[,LEN]` (LEN default one 4 KiB page). */
function parsePamt(v: string): { base: number; len: number } {
  const [a, l, ...rest] = v.split(',');
  if (a === undefined || rest.length > 0) {
    throw new TdxsimError('TDXSIM_BAD_ARGS', `--pamt "${v}": expected ADDR or ADDR,LEN`);
  }
  const base = parseAddr('--pamt', a);
  const len = l === undefined ? 4096 : parseAddr('--pamt', l);
  if (len === 0 || len > 2 ** 46) {
    throw new TdxsimError('TDXSIM_BAD_ARGS', `--pamt "${v}": LEN must be 1 byte to 64 TiB`);
  }
  return { base, len };
}

const yes = (b: boolean): string => (b ? 'yes' : '-');

/** The view as text, section by section. */
export function formatInspect(v: InspectView): string {
  const out: string[] = [`${v.scenario} at t=${(v.at.t / 1e9).toFixed(6)} s, ${v.at.where} (--at ${v.at.requested})`, ''];
  if (v.kernel !== null) {
    const kx = v.kernel.kexec;
    out.push(`KERNEL ${v.kernel.profile} (kernel ${v.kernel.generation})  tdx_module_status: ${v.kernel.tdx_module_status}`);
    out.push(`  stopping_cpu ${kx.stopping_cpu}  kexec_in_progress ${kx.kexec_in_progress}  NMI stop handler ${kx.nmiHandlerRegistered ? 'registered' : 'not registered'}${kx.crashing ? '  crashing' : ''}`, '');
  }
  out.push('  CPU  PKG  ONLINE  VMX  HLT  SEAM  NMI  INCOHERENT  STOP_MASK  STOPS  DIRTY  RUNNING');
  for (const c of v.cpus) {
    out.push(`  ${String(c.cpu).padStart(3)}  ${String(c.package).padStart(3)}  ${yes(c.online).padEnd(6)}  ${yes(c.vmx).padEnd(3)}  ${yes(c.halted).padEnd(3)}  ${yes(c.inSeam).padEnd(4)}  ${yes(c.inNmi).padEnd(3)}  ${yes(c.cache_state_incoherent).padEnd(10)}  ${yes(c.inStopMask).padEnd(9)}  ${String(c.stopThisCpuRuns).padStart(5)}  ${String(c.dirtyLines).padStart(5)}  ${c.running}`);
  }
  if (v.module !== null) {
    const m = v.module;
    out.push('', `MODULE ${m.release}  ${m.sysState}  private HKIDs ${m.privateHkids.length === 2 ? `${m.privateHkids[0]}..${m.privateHkids[1]}` : 'none'}`);
    out.push('  HKID  STATE          WBINVD_BITMAP', ...m.kot.map((k) => `  ${String(k.hkid).padStart(4)}  ${k.state.padEnd(13)}  0x${k.wbinvdBitmap.toString(16)}`));
    out.push(...m.tds.map((t) => `  TD: TDR ${t.tdr}  HKID ${t.hkid}  ${t.lifecycle}`));
  }
  if (v.pamt !== undefined) {
    out.push('', `PAMT ${v.pamt.base} + ${v.pamt.len}`, '  BASE                END                 PAGES  PT          LEVEL  OWNER (TDR)');
    out.push(...v.pamt.ranges.map((r) => `  ${r.base.padEnd(18)}  ${r.end.padEnd(18)}  ${String(r.pages).padStart(5)}  ${r.pt.padEnd(10)}  ${(r.level ?? '').padEnd(5)}  ${r.owner === undefined ? '' : `${r.owner}${r.ownerHkid !== undefined ? ` (HKID ${r.ownerHkid})` : ''}`}`.trimEnd()));
  }
  if (v.cache !== undefined) {
    out.push('', `CACHE of CPU ${v.cache.cpu}: ${v.cache.lines} lines, ${v.cache.dirtyLines} dirty`, '  KEYID  BASE                END                 LINES  DIRTY  VERSION  WRITER');
    out.push(...v.cache.ranges.map((r) => `  ${String(r.keyId).padStart(5)}  ${r.base.padEnd(18)}  ${r.end.padEnd(18)}  ${String(r.lines).padStart(5)}  ${yes(r.dirty).padEnd(5)}  ${String(r.version).padStart(7)}  ${r.writer}`));
  }
  if (v.line !== undefined) {
    const l = v.line;
    out.push('', `LINE ${l.pa}: memory holds version ${l.memory.version} written by ${l.memory.writer} through KeyID ${l.memory.keyId}${l.memory.tdOwned ? ' (TD-owned)' : ''}${l.memory.poison ? ' POISONED' : ''}`);
    out.push(...(l.cached.length === 0 ? ['  not cached on any CPU'] : l.cached.map((c) => `  cached on CPU ${c.cpu} through KeyID ${c.keyId}: version ${c.version} by ${c.writer}${c.dirty ? ', dirty' : ''}`)));
  }
  return `${out.join('\n')}\n`;
}

/** Register `inspect`. */
export function registerInspect(program: Command, _ctx: CommandContext): void {
  executionOptions(
    program
      .command('inspect')
      .description('the machine at one moment of an execution, as crash shows a vmcore: tdx_module_status, per-CPU flags, KOT, caches; PAMT of a range, a CPU\'s cache lines, the owner of a line')
      .argument('<scenario>', 'embedded scenario name or scenario .json file')
      .requiredOption('--at <moment>', 'after step N (0-based), at a simulated time (1.5s, 30ms, 500us, 1000ns), jump (as the CPU jumps to the next kernel) or end'),
  )
    .option('--pamt <addr[,len]>', 'PAMT entries and owners of a physical range (len default 4096)')
    .option('--cache <cpu>', 'that CPU\'s cached lines by address and KeyID', parseUint('--cache'))
    .option('--line <addr>', 'the physical line: KeyID and writer in memory, cached copies')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExit codes: 0 shown, 2 bad input (including a moment the run never reaches).')
    .action((scenario: string, o: InspectOpts) => {
      const at = parseMoment(o.at);
      const v = inspectScenario({
        ...executionRequest(scenario, o),
        at,
        ...(o.pamt !== undefined ? { pamt: parsePamt(o.pamt) } : {}),
        ...(o.cache !== undefined ? { cache: o.cache } : {}),
        ...(o.line !== undefined ? { line: parseAddr('--line', o.line) } : {}),
      });
      process.stdout.write(o.json === true ? `${JSON.stringify(v, null, 2)}\n` : formatInspect(v));
    });
}
