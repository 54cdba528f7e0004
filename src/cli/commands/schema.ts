/** `tdxsim schema` prints the platform or scenario JSON Schema; `presets` and `scenarios` list what is embedded (or print one). */
import type { Command } from 'commander';

import { namedScenario, platformJsonSchema, presetInput, presetNames, resolvePlatform, scenarioJsonSchema, scenarioNames, TdxsimError, withHexAddresses } from '../../api/index.js';
import type { CommandContext } from '../cli.js';

/** Register `schema` and `presets`. */
export function registerSchema(program: Command, _ctx: CommandContext): void {
  program
    .command('schema')
    .description('print the JSON Schema of platform description files (default) or of scenario files')
    .argument('[kind]', 'platform or scenario', 'platform')
    .action((kind: string) => {
      if (kind !== 'platform' && kind !== 'scenario') {
        throw new TdxsimError('TDXSIM_BAD_ARGS', `schema "${kind}": expected platform or scenario`);
      }
      process.stdout.write(`${JSON.stringify(kind === 'platform' ? platformJsonSchema() : scenarioJsonSchema(), null, 2)}\n`);
    });
  program
    .command('scenarios')
    .description('list the embedded scenarios with their descriptions, or print one as JSON to start your own')
    .argument('[name]', 'scenario to print (a scenario file, valid against tdxsim schema scenario)')
    .option('--json', 'with no name: print JSON: name, description, kernel (null: the default kernel) and platform of each')
    .action((name: string | undefined, o: { json?: boolean }) => {
      if (name !== undefined) {
        const sc = namedScenario(name);
        if (sc === undefined) {
          throw new TdxsimError('TDXSIM_UNKNOWN_SCENARIO', `unknown scenario "${name}" (known: ${scenarioNames().join(', ')})`);
        }
        process.stdout.write(`${JSON.stringify(sc, null, 2)}\n`);
        return;
      }
      if (o.json === true) {
        const list = scenarioNames().map((n) => {
          const sc = namedScenario(n);
          return { name: n, description: sc?.description ?? '', kernel: sc?.kernel ?? null, platform: typeof sc?.platform === 'string' ? sc.platform : null };
        });
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      for (const n of scenarioNames()) {
        const sc = namedScenario(n);
        process.stdout.write(`${n.padEnd(26)} ${sc?.description ?? ''}\n`);
      }
    });
  program
    .command('presets')
    .description('list platform presets (CPU model, topology, RAM, KeyIDs), or print one as JSON to start your own')
    .argument('[name]', 'preset to print')
    .option('--json', 'with no name: print the preset names as a JSON array')
    .action((name: string | undefined, o: { json?: boolean }) => {
      if (name === undefined && o.json === true) {
        process.stdout.write(`${JSON.stringify(presetNames())}\n`);
        return;
      }
      if (name === undefined) {
        // One line each: what the preset is, so that choosing one needs no JSON dump.
        for (const n of presetNames()) {
          const p = resolvePlatform(n, n);
          const t = p.topology;
          let ram = 0;
          for (const e of p.memory.e820) {
            ram += e.type === 'usable' ? e.size : 0;
          }
          const cpus = t.packages * t.coresPerPackage * t.threadsPerCore;
          process.stdout.write(`${n.padEnd(12)} ${p.cpuModel}, ${t.packages} package(s) x ${t.coresPerPackage} cores x ${t.threadsPerCore} thread(s) = ${cpus} CPUs, ${(ram / 2 ** 30).toFixed(1)} GiB usable RAM, KeyIDs: ${p.keyids.mktme} MKTME + ${p.keyids.tdx} TDX\n`);
        }
        return;
      }
      const p = presetInput(name);
      if (p === undefined) {
        throw new TdxsimError('TDXSIM_UNKNOWN_PRESET', `unknown preset "${name}" (known: ${presetNames().join(', ')})`);
      }
      // Addresses and sizes in hex, as firmware tables and dmesg print them (the schema takes both).
      process.stdout.write(`${JSON.stringify(withHexAddresses(p), null, 2)}\n`);
    });
}
