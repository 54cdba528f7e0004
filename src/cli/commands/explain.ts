/** `tdxsim explain`: decode a SEAMCALL status (or a whole failure line). */
import type { Command } from 'commander';

import { explain, TdxsimError } from '../../api/index.js';
import { readStdinBounded } from '../../api/parse/input.js';
import type { ExplainResult } from '../../api/index.js';
import type { CommandContext } from '../cli.js';
import { EXIT_OK } from '../exitCodes.js';

interface ExplainOpts {
  leaf?: string;
  json?: boolean;
}

function severityText(r: ExplainResult): string {
  switch (r.severity) {
    case 'success':
      return 'success';
    case 'warning':
      return 'informational (error bit clear), though Linux treats any non-zero status from an init leaf as failure';
    case 'recoverable':
      return 'recoverable error: retrying may succeed';
    case 'non-recoverable':
      return 'non-recoverable error: retrying the same call will not help';
    case 'fatal':
      return 'fatal: the TD or VCPU is unusable';
    case 'software':
      return 'Linux software code: the SEAMCALL instruction itself failed';
    default:
      return r.bits.error ? (r.bits.nonRecoverable ? 'error, non-recoverable (decoded from the bits)' : 'error, recoverable (decoded from the bits)') : 'no error bit';
  }
}

/** Render an explanation for a terminal. */
export function formatExplain(r: ExplainResult): string {
  const out: string[] = [];
  out.push(`${r.value}  ${r.known ? r.display : 'unknown status'}`);
  out.push(`  class:      ${r.class.hex} ${r.class.name}`);
  out.push(`  severity:   ${severityText(r)}`);
  out.push(`  bits:       error=${r.bits.error ? 1 : 0} non-recoverable=${r.bits.nonRecoverable ? 1 : 0} fatal=${r.bits.fatal ? 1 : 0} details=${r.bits.detailsL1}/${r.bits.detailsL2}${r.bits.reserved !== '0x0' ? ` reserved=${r.bits.reserved}` : ''}`);
  if (r.operand !== null) {
    out.push(`  operand:    ${r.operand.raw}: ${r.operand.text}`);
  }
  if (r.leaf !== null) {
    out.push(`  leaf:       ${r.leaf.number} ${r.leaf.name}${r.leaf.version > 0 ? ` (version ${r.leaf.version})` : ''}${r.leaf.inferred ? ' (inferred: the only leaf that returns this status)' : ''}: ${r.leaf.does}`);
  }
  out.push(`  meaning:    ${r.meaning}`);
  if (r.checking !== null) {
    out.push(`  checking:   ${r.checking}`);
  } else if (r.leaf === null && r.known) {
    out.push('  checking:   (give --leaf N, or paste the whole "SEAMCALL (0x..) failed: 0x.." line, to see what the leaf was checking)');
  }
  if (r.causes.length > 0) {
    out.push('  likely causes:');
    for (const c of r.causes) {
      out.push(`    - ${c}`);
    }
  }
  if (r.remedies.length > 0) {
    out.push('  what to do:');
    for (const c of r.remedies) {
      out.push(`    - ${c}`);
    }
  }
  out.push(`  Linux:      ${r.linux.errno === 0 ? '0' : `${r.linux.errnoName} (${r.linux.errno})`}: ${r.linux.note}`);
  return `${out.join('\n')}\n`;
}

/** One status per argument when each is a status on its own; one pasted line otherwise; `-`: one per line of stdin. */
function statusItems(args: readonly string[]): string[] {
  if (args.length === 1 && args[0] === '-') {
    const lines = readStdinBounded('input')
      .toString('utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    if (lines.length === 0) {
      throw new TdxsimError('TDXSIM_EMPTY_INPUT', 'explain -: stdin has no status');
    }
    return lines;
  }
  const alone = /^((0x)?[0-9a-fA-F]{1,16}|TDX_[A-Z0-9_]+)$/;
  return args.length > 1 && args.every((a) => alone.test(a.trim())) ? [...args] : [args.join(' ')];
}

/** Register `explain`. */
export function registerExplain(program: Command, ctx: CommandContext): void {
  program
    .command('explain')
    .description('explain a SEAMCALL status: name, class, operand, what the leaf was checking, likely causes, what to do')
    .argument('<status...>', 'one or more 64-bit statuses in hex (with or without 0x) or status names, a whole "SEAMCALL (0x..) failed: 0x.." line, or - to read one per line from stdin')
    .option('--leaf <n>', 'the leaf that returned it (number, 0x hex or name such as TDH.SYS.RD)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExit codes: 0 explained, 2 bad input (a value that is not a 64-bit status, an unknown name or leaf).')
    .action((status: string[], o: ExplainOpts) => {
      const items = statusItems(status);
      const rs = items.map((s) => explain({ status: s, ...(o.leaf !== undefined ? { leaf: o.leaf } : {}) }));
      if (o.json === true) {
        process.stdout.write(`${JSON.stringify(rs.length === 1 ? rs[0] : rs, null, 2)}\n`);
      } else {
        process.stdout.write(rs.map(formatExplain).join('\n'));
      }
      ctx.exitCode = EXIT_OK;
    });
}
