/** `tdxsim plan`: the TDMRs, PAMTs and dmesg Linux would produce for a machine. */
import type { Command } from 'commander';

import { plan, planJson } from '../../api/index.js';
import { readStdinBounded } from '../../api/parse/input.js';
import type { PlanResult, ProfilePlan } from '../../api/index.js';
import type { CommandContext } from '../cli.js';
import { EXIT_FINDINGS, EXIT_OK } from '../exitCodes.js';
import { kernelArg, moduleArg, parseUint } from '../options.js';

/** Read all of stdin (for `-` as the input), refusing more than the inputs' size limit. */
export function readStdin(): string {
  return readStdinBounded('input').toString('utf8');
}

interface PlanOpts {
  kernel?: string;
  module?: string;
  maxTdmrs?: number;
  maxReserved?: number;
  compare?: boolean;
  json?: boolean;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function gib(n: number): string {
  return Number.isInteger(n) ? `${n} GiB` : `${n.toFixed(2)} GiB`;
}

function tdmrTable(p: ProfilePlan, out: string[]): void {
  out.push(`TDMRs (${p.tdmrs.length}):`);
  out.push(`  ${pad('#', 4)}${pad('base', 16)}${pad('end', 16)}${pad('size', 10)}${pad('node', 6)}${pad('PAMT', 26)}reserved areas (offset +size)`);
  for (const t of p.tdmrs) {
    const pamt = t.pamt === null ? '-' : `${t.pamt.totalKb} KB @${t.pamt.base4k}`;
    const rsvd = t.reserved.length === 0 ? '-' : t.reserved.map((r) => `${r.offset} +${r.size}`).join(', ');
    out.push(`  ${pad(String(t.index), 4)}${pad(t.base, 16)}${pad(t.end, 16)}${pad(gib(t.sizeGiB), 10)}${pad(t.pamt === null ? '-' : String(t.pamt.node), 6)}${pad(pamt, 26)}${rsvd}`);
  }
}

/** Render a plan for a terminal. */
export function formatPlan(p: PlanResult): string {
  const out: string[] = [];
  out.push(`plan: ${p.input.name} (${p.input.kind})`);
  out.push(`memory source: ${p.source.kind}: ${p.source.detail}`);
  const inf = p.inferred;
  if (inf.kernel.from !== 'option') {
    out.push(`kernel: ${p.kernel}, ${inf.kernel.from === 'log' ? 'inferred from the log' : 'default'}: ${inf.kernel.why}${inf.kernel.from === 'log' ? ' (--kernel overrides)' : ''}`);
  }
  if (inf.module.from !== 'option') {
    out.push(`module: ${p.module}, ${inf.module.from === 'input' ? 'from the input' : 'default'}: ${inf.module.why}`);
  }
  for (const w of p.warnings) {
    out.push(`warning: ${w}`);
  }
  const l = p.limits;
  out.push(`kernel ${p.kernel}, module ${p.module} (limits: ${l.maxTdmrs} TDMRs, ${l.maxReserved} reserved areas per TDMR, PAMT entries ${l.pamtEntrySize.join('/')} bytes; holes from ${p.holes === 'cmrs' ? 'the CMRs' : 'the memory list'})`);
  if (p.failure === null) {
    out.push(`outcome: ok: ${p.pamtKb} KB of PAMT (${p.pamtPages} pages) for ${p.tdmrs.length} TDMR(s)`);
  } else {
    out.push(`outcome: FAIL (${p.failure.reason}, ${p.failure.errnoName}): ${p.failure.message}`);
    out.push(`  (with enough room the PAMT would be ${p.pamtKb} KB: "${p.pamtLine}")`);
  }
  for (const n of p.notes) {
    out.push(`  note: ${n}`);
  }
  if (p.current.length > 0) {
    out.push(`current kernels, same machine and module ${p.module}:`);
    for (const c of p.current) {
      out.push(`  ${pad(c.kernel, 12)}${c.failure === null ? `ok: ${c.pamtKb} KB of PAMT (${c.pamtPages} pages) for ${c.tdmrs.length} TDMR(s)` : `FAIL (${c.failure.reason}, ${c.failure.errnoName}): ${c.failure.message}`}`);
    }
  }
  out.push('');
  tdmrTable(p, out);
  out.push('');
  out.push(`dmesg (what ${p.kernel} prints):`);
  for (const d of p.dmesg) {
    out.push(`  ${d}`);
  }
  if (p.dmesg.length === 0) {
    out.push('  (nothing: with no TDX KeyIDs Linux prints no TDX line)');
  }
  out.push('');
  const h = p.headroom;
  out.push('headroom:');
  out.push(`  TDMRs: ${h.tdmrs.used} of ${h.tdmrs.max} used, ${h.tdmrs.free} free${h.tdmrs.needed > h.tdmrs.max ? ` (${h.tdmrs.needed} needed)` : ''}`);
  out.push(
    `  reserved areas: ${h.reservedAreas.worstTdmr === null ? 'none used' : `worst TDMR ${h.reservedAreas.worstTdmr} uses ${h.reservedAreas.used} of ${h.reservedAreas.max}, ${h.reservedAreas.free} free`}${h.reservedAreas.needed > h.reservedAreas.max ? ` (${h.reservedAreas.needed} needed)` : ''}`,
  );
  for (const n of h.notes) {
    out.push(`  note: ${n}`);
  }
  const d = p.dynamicPamt;
  out.push('');
  out.push(`Dynamic PAMT estimate: ${d.staticKb} KB at init instead of ${p.pamtKb} KB (2M level ${d.pamt2mKb} KB + 1G level ${d.pamt1gKb} KB + 4K bitmap ${d.bitmapKb} KB),`);
  out.push(`  plus ${d.onDemandKbPer2M} KB per 2 MiB region that holds 4 KiB private pages (worst case ${d.worstCaseKb} KB); kernel refcounts ${d.refcountKb} KB`);
  out.push('  assumptions:');
  for (const a of d.assumptions) {
    out.push(`    - ${a}`);
  }
  if (p.assumptions.length > 0) {
    out.push('');
    out.push('input assumptions:');
    for (const a of p.assumptions) {
      out.push(`  - ${a}`);
    }
  }
  if (p.compare !== undefined) {
    out.push('');
    out.push('every kernel profile:');
    out.push(`  ${pad('kernel', 14)}${pad('module', 14)}${pad('outcome', 9)}${pad('TDMRs', 7)}${pad('rsvd', 7)}${pad('PAMT line', 46)}failure`);
    for (const c of p.compare) {
      const rs = `${c.headroom.reservedAreas.used}/${c.headroom.reservedAreas.max}`;
      out.push(`  ${pad(c.kernel, 14)}${pad(c.module, 14)}${pad(c.outcome, 9)}${pad(String(c.tdmrs.length), 7)}${pad(rs, 7)}${pad(c.pamtLine, 46)}${c.failure === null ? '' : `${c.failure.reason}: ${c.failure.message}`}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** Register `plan`. */
export function registerPlan(program: Command, ctx: CommandContext): void {
  program
    .command('plan')
    .description('plan the TDMRs, reserved areas and PAMTs Linux would build, with its dmesg, headroom and a Dynamic PAMT estimate')
    .argument('<input>', 'a dmesg file, /proc/iomem, a platform JSON file, a preset name, or - for stdin')
    .option('--kernel <kernel>', 'kernel profile (default: the kernel a dmesg shows, else linux-6.18; docs/kernel.md)', kernelArg('--kernel'))
    .option('--module <release>', 'TDX module release (default: the one the input names, else the kernel\'s; docs/module.md)', moduleArg('--module'))
    .option('--max-tdmrs <n>', 'override the module\'s MAX_TDMRS', parseUint('--max-tdmrs'))
    .option('--max-reserved <n>', 'override the module\'s MAX_RESERVED_PER_TDMR', parseUint('--max-reserved'))
    .option('--compare', 'plan with every kernel profile side by side')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExit codes: 0 plan succeeds, 1 Linux would fail (TDMRs/reserved areas exhausted, version skew...), 2 bad input. For a dmesg the exit code follows the log\'s own kernel (or --kernel).')
    .action((input: string, o: PlanOpts) => {
      const p = plan({
        ...(input === '-' ? { text: readStdin(), name: '<stdin>' } : { input }),
        ...(o.kernel !== undefined ? { kernel: o.kernel } : {}),
        ...(o.module !== undefined ? { module: o.module } : {}),
        ...(o.maxTdmrs !== undefined ? { maxTdmrs: o.maxTdmrs } : {}),
        ...(o.maxReserved !== undefined ? { maxReserved: o.maxReserved } : {}),
        compare: o.compare === true,
      });
      process.stdout.write(o.json === true ? `${JSON.stringify(planJson(p), null, 2)}\n` : formatPlan(p));
      ctx.exitCode = p.outcome === 'ok' ? EXIT_OK : EXIT_FINDINGS;
    });
}
