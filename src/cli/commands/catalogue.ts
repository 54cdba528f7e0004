/** `tdxsim kernels` and `tdxsim modules`: the catalogues, with sources. */
import type { Command } from 'commander';

import { kernelCatalogue, moduleCatalogue } from '../../api/index.js';
import type { CommandContext } from '../cli.js';
import { EXIT_OK } from '../exitCodes.js';

function table(rows: string[][]): string {
  const w = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** Register `kernels` and `modules`. */
export function registerCatalogue(program: Command, ctx: CommandContext): void {
  program
    .command('kernels')
    .description('list the kernels the model knows (--kernel NAME), with what each follows')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const c = kernelCatalogue();
      if (o.json === true) {
        process.stdout.write(`${JSON.stringify(c, null, 2)}\n`);
      } else {
        const rows = [['kernel', 'Linux version', 'initializes TDX', 'kexec', 'default module', 'what it is']];
        for (const k of c.kernels) {
          rows.push([k.name, k.linuxVersion, k.initializes === 'kvm' ? 'when kvm_intel loads' : k.initializes === 'boot' ? 'at boot' : 'never', `${k.kexec}${k.sysDisableOnKexec ? ', TDH.SYS.DISABLE' : ''}`, k.defaultModule, k.description]);
        }
        const lines = [table(rows), '', 'sources:', ...c.kernels.map((k) => `  ${k.name}: ${k.source}`), '', 'old names:', ...c.aliases.map((a) => `  ${a.name} -> ${a.to}`)];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      ctx.exitCode = EXIT_OK;
    });
  program
    .command('modules')
    .description('list the TDX module releases the model knows (--module NAME), with their facts and sources')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const c = moduleCatalogue();
      if (o.json === true) {
        process.stdout.write(`${JSON.stringify(c, null, 2)}\n`);
      } else {
        const rows = [['release', 'TDX_FEATURES0', 'build', 'build date', 'TD-preserving from', 'MAX_VCPUS_PER_TD', 'TOPOLOGY_ENUM', 'DYNAMIC_PAMT', 'UNBLOCK untracked', 'LP.INIT CPUID table', 'CPUID_CONFIG leaves']];
        const shown = (f: { value: string; assumed: boolean }): string => `${f.value}${f.assumed ? ' (assumed)' : ''}`;
        for (const m of c.modules) {
          rows.push([
            m.name,
            `${m.tdxFeatures0}${m.tdxFeatures0Known ? '' : ' (assumed)'}`,
            m.buildNum === null ? 'unknown' : String(m.buildNum),
            m.buildDate === null ? 'unknown' : String(m.buildDate),
            m.minUpdateFrom ?? 'unknown',
            m.extraFields.includes('MAX_VCPUS_PER_TD') ? 'yes' : 'no',
            m.topologyEnum ? 'yes' : 'no',
            m.dynamicPamt ? 'yes' : 'no',
            `TLB_TRACKING_NOT_DONE|${shown(m.unblockTlbOperand)}`,
            shown(m.cpuidTable),
            `${m.cpuidConfig.leaves} (${m.cpuidConfig.value}${m.cpuidConfig.assumed ? ', assumed' : ''})`,
          ]);
        }
        const lines = [
          table(rows),
          '',
          'sources:',
          ...c.modules.map((m) => `  ${m.name}: TDX_FEATURES0 from ${m.tdxFeatures0Source}${m.buildSource !== null ? `; build from ${m.buildSource}` : ''}`),
          '',
          `variants: ${c.variants}`,
          'old names:',
          ...c.aliases.map((a) => `  ${a.name} -> ${a.to}`),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      ctx.exitCode = EXIT_OK;
    });
}
