/** `tdxsim compat`: which kernel brings TDX up with which module release, simulated. */
import type { Command } from 'commander';

import { compat, describeReleases } from '../../api/index.js';
import type { CompatCell, CompatResult, CompatVerdict } from '../../api/index.js';
import type { CommandContext } from '../cli.js';
import { EXIT_OK } from '../exitCodes.js';
import { kernelArg, listArg, moduleArg } from '../options.js';

interface CompatOpts {
  kernel?: string[];
  module?: string[];
  platform?: string;
  json?: boolean;
}

const SYMBOL: Record<CompatVerdict, string> = { ok: 'ok', kvm: 'KVM', fail: 'FAIL', none: '-' };

/** Cells of one reason, by kernel: `linux-6.18 × 1.0, 1.5.01`. */
function cellList(cells: readonly { kernel: string; module: string }[]): string {
  const rows = new Map<string, string[]>();
  for (const c of cells) {
    rows.set(c.kernel, [...(rows.get(c.kernel) ?? []), c.module]);
  }
  return [...rows].map(([k, ms]) => `${k} × ${describeReleases(ms)}`).join('; ');
}

/** Render the matrix, the legend, one line per reason, and the footnotes. */
export function formatCompat(r: CompatResult): string {
  const out: string[] = [];
  out.push(`TDX host bring-up on ${r.platform}, simulated: each kernel boots, then loads kvm_intel tdx=1, with each TDX module release.`);
  out.push('');
  const assumed = new Set(r.cells.filter((c) => c.featuresAssumed).map((c) => c.module));
  const heads = r.modules.map((m) => (assumed.has(m) ? `${m}*` : m));
  const widths = heads.map((h) => Math.max(h.length, 4));
  const kw = Math.max('kernel'.length, ...r.kernels.map((k) => k.length));
  const line = (first: string, cols: readonly string[]): string => `${first.padEnd(kw)}  ${cols.map((c, i) => c.padEnd(widths[i] ?? 4)).join(' ')}`.trimEnd();
  out.push(line('kernel', heads));
  const at = new Map<string, CompatCell>(r.cells.map((c) => [`${c.kernel} ${c.module}`, c]));
  for (const k of r.kernels) {
    out.push(line(k, r.modules.map((m) => SYMBOL[at.get(`${k} ${m}`)?.verdict ?? 'none'])));
  }
  out.push('');
  out.push('ok: module initialized and KVM has TDX; KVM: module initialized, KVM refused TDX; FAIL: module initialization failed; -: not initialized');
  if (r.reasons.length > 0) {
    out.push('');
    out.push('Why:');
    for (const x of r.reasons) {
      out.push(`  ${cellList(x.cells)}: ${x.reason}`);
    }
  }
  if (r.footnotes.length > 0) {
    out.push('');
    for (const f of r.footnotes) {
      out.push(`* ${f}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** Register `compat`. */
export function registerCompat(program: Command, ctx: CommandContext): void {
  program
    .command('compat')
    .description('boot every kernel with every TDX module release in the simulator and show which pairs bring TDX up, and why not')
    .option('--kernel <kernel,...>', 'kernels (default: every kernel profile)', listArg('--kernel', kernelArg))
    .option('--module <release,...>', 'module releases (default: every release; name a +sys-disable variant to include it)', listArg('--module', moduleArg))
    .option('--platform <preset|file.json>', 'platform preset or description file (default small-2s)')
    .option('--json', 'print JSON')
    .action((o: CompatOpts) => {
      const r = compat({
        ...(o.kernel !== undefined ? { kernels: o.kernel } : {}),
        ...(o.module !== undefined ? { modules: o.module } : {}),
        ...(o.platform !== undefined ? { platform: o.platform } : {}),
      });
      process.stdout.write(o.json === true ? `${JSON.stringify(r, null, 2)}\n` : formatCompat(r));
      // A report: the matrix is the answer, whatever it says.
      ctx.exitCode = EXIT_OK;
    });
}
