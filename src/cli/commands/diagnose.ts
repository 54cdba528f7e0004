/** `tdxsim diagnose`: find, classify and reproduce the TDX story of a real dmesg. */
import type { Command } from 'commander';

import { diagnose, isSuccessClass } from '../../api/index.js';
import type { DiagnoseResult } from '../../api/index.js';
import type { CommandContext } from '../cli.js';
import { collapseRuns } from '../format.js';
import { EXIT_FINDINGS, EXIT_OK } from '../exitCodes.js';
import { readStdin } from './plan.js';

interface DiagnoseOpts {
  reproduce?: boolean;
  json?: boolean;
}

/** Render a diagnosis for a terminal. */
export function formatDiagnosis(d: DiagnoseResult): string {
  const out: string[] = [];
  out.push(`diagnose: ${d.input} (boot at lines ${d.boot.firstLine}-${d.boot.lastLine}${d.boot.kernelVersion !== null ? `, Linux ${d.boot.kernelVersion}` : ''})`);
  for (const w of d.warnings) {
    out.push(`warning: ${w}`);
  }
  const ik = d.inferred.kernel;
  out.push(`kernel: ${ik.release !== null ? `${ik.release} (from line ${ik.line}: ${ik.text ?? ''})` : 'not printed in the log'}; model profile ${ik.profile}`);
  const im = d.inferred.module;
  out.push(`module: ${im.version !== null ? `${im.version} (from line ${im.line})` : 'no version line'}; modelled as ${im.profile} (${im.why})`);
  out.push(`era: "${d.era.prefix.trim()}" strings${d.era.pamtUnit !== null ? `, PAMT in ${d.era.pamtUnit}` : ''}; kernel profile ${d.era.kernel} (${d.era.kernelWhy}); module ${d.era.module} (${d.era.moduleWhy})`);
  out.push('');
  out.push('TDX story:');
  if (d.story.lines.length === 0) {
    out.push('  (the log has no TDX lines)');
  }
  const width = String(d.boot.lastLine).length;
  // Repeated lines (a log with a million identical failures) print once, with their count.
  const times = (n: number, last: number): string => (n > 1 ? `  (${n} times, through line ${last})` : '');
  out.push(...collapseRuns(d.story.lines, (l) => l.text, (l, z, n) => `  line ${String(l.line).padStart(width)}  ${l.text}${times(n, z.line)}`, '  '));
  out.push(...collapseRuns(d.story.failures, (f) => `${f.leafName} ${f.statusName}`, (f, z, n) => `  -> line ${f.line}: ${f.leafName} returned ${f.statusName}: ${f.meaning}${times(n, z.line)}`, '  '));
  out.push('');
  out.push(`classification: ${d.classification.class}: ${d.classification.title}`);
  out.push(`  why: ${d.classification.explanation}`);
  out.push(...collapseRuns(d.classification.evidence, (e) => e.text, (e, z, n) => `  evidence: line ${e.line}: ${e.text}${times(n, z.line)}`, '  '));
  out.push('');
  const r = d.reproduction;
  if (!r.attempted) {
    out.push(`reproduction: not attempted: ${r.why}`);
  } else {
    out.push(`reproduction: ${r.method}: ${r.why}`);
    if (r.source !== undefined) {
      out.push(`  machine: ${r.source.kind}: ${r.source.detail} (--json: reproduction.platform is the rebuilt platform file)`);
    }
    for (const n of r.notes) {
      out.push(`  note: ${n}`);
    }
    const counts = `${r.compared.same} of ${r.compared.log} log line(s) reproduced, ${r.compared.sim - r.compared.same} extra simulated line(s)`;
    if (r.method === 'none') {
      out.push('  result: not compared');
    } else if (r.matches === true) {
      out.push(`  result: MATCHES the log line for line (${r.compared.same} TDX line(s))`);
    } else if (r.explained) {
      out.push(`  result: ${counts}; every difference is explained below (lines one kernel does not print, values the rebuilt machine cannot know, a log cut short): none counts against the host`);
    } else {
      out.push(`  result: ${counts}; the simulated kernel took another path than the log's where marked "diverged" below`);
    }
    const diffKey = (x: (typeof r.diff)[number]): string => `${x.op}\n${x.log ?? ''}\n${x.sim ?? ''}\n${x.reason?.kind ?? ''}\n${x.reason?.text ?? ''}`;
    out.push(
      ...collapseRuns(
        r.diff,
        diffKey,
        (x, z, n) => {
          const why = x.reason !== undefined ? `: ${x.reason.kind}: ${x.reason.text}` : '';
          const many = n > 1 ? ` (${n} times)` : '';
          if (x.op === 'same') {
            return `    = ${x.log ?? ''}${many}`;
          }
          if (x.op === 'missing') {
            const where = n > 1 ? `log lines ${x.logLine ?? '?'}-${z.logLine ?? '?'}, ${n} lines` : `log line ${x.logLine ?? '?'}`;
            return `    - ${x.log ?? ''}   (${where}, not reproduced${why})`;
          }
          return `    + ${x.sim ?? ''}   (simulator only${why})${many}`;
        },
        '    ',
      ),
    );
  }
  out.push('');
  out.push(`confidence: ${d.confidence.level}: ${d.confidence.reasons.join('; ')}`);
  out.push(`cause: ${d.cause}`);
  out.push('remedy:');
  for (const m of d.remedy) {
    out.push(`  - ${m}`);
  }
  const ok = d.alternatives.filter((a) => a.outcome === 'ok' && a.simulated !== 'fail');
  if (d.alternatives.length > 0) {
    const tag = (a: (typeof ok)[number]): string => `${a.kernel} + ${a.module}${a.simulated === 'ok' ? ' (simulated)' : ''}`;
    out.push(`kernel/module pairs that would initialise TDX on this machine: ${ok.length === 0 ? 'none' : ok.map(tag).join(', ')}`);
    const refuted = d.alternatives.filter((a) => a.outcome === 'ok' && a.simulated === 'fail');
    if (refuted.length > 0) {
      out.push(`  (the plan core accepts ${refuted.map((a) => `${a.kernel} + ${a.module}`).join(', ')}, but the simulated bring-up fails)`);
    }
  }
  if (d.assumptions.length > 0) {
    out.push('assumptions of the rebuilt machine:');
    for (const a of d.assumptions) {
      out.push(`  - ${a}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** Register `diagnose`. */
export function registerDiagnose(program: Command, ctx: CommandContext): void {
  program
    .command('diagnose')
    .description('find the TDX story in a dmesg, classify it, reproduce it in the simulator, and say cause and remedy')
    .argument('<dmesg-file>', 'a dmesg (with or without timestamps), e.g. from `dmesg` or `journalctl -k -b`; - for stdin')
    .option('--no-reproduce', 'do not rebuild and simulate the machine')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExit codes: 0 TDX initialised, 1 a failure was diagnosed (or no TDX at all), 2 bad input.')
    .action((file: string, o: DiagnoseOpts) => {
      const d = diagnose({ ...(file === '-' ? { text: readStdin(), name: '<stdin>' } : { file }), reproduce: o.reproduce !== false });
      process.stdout.write(o.json === true ? `${JSON.stringify(d, null, 2)}\n` : formatDiagnosis(d));
      ctx.exitCode = isSuccessClass(d.classification.class) ? EXIT_OK : EXIT_FINDINGS;
    });
}
