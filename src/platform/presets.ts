/**
 * Named platform presets. Each is plain input data run through the same validation as a user's
 * file, so presets cannot drift from the schema.
 * @see TDX module ABI section 10.1 (the REF platform)
 */
import { assert } from '../base/assert.js';
import { parsePlatformSpec } from './spec.js';
import type { PlatformSpec, PlatformSpecInput } from './spec.js';

const GiB = 2 ** 30;
const TiB = 2 ** 40;
const MiB = 2 ** 20;

/** Low-memory e820 layout every PC has: RAM below 640K, legacy hole, RAM up to `lowEnd`. */
function lowE820(lowEnd: number): PlatformSpecInput['memory']['e820'] {
  return [
    { base: 0, size: 0x9f000, type: 'usable' },
    { base: 0x9f000, size: 0x61000, type: 'reserved' },
    { base: 0x100000, size: lowEnd - 0x100000, type: 'usable' },
  ];
}

/** The REF platform of the module ABI spec (section 10.1). */
function ref(): PlatformSpecInput {
  return {
    name: 'ref',
    cpuModel: 'sapphire-rapids',
    topology: { packages: 2, coresPerPackage: 1, threadsPerCore: 2 },
    memory: {
      e820: [
        ...lowE820(0x80000000),
        { base: 0x80000000, size: 0x2000000, type: 'reserved' },
        { base: 0x100000000, size: 0x100000000, type: 'usable' },
      ],
      nodes: [
        { node: 0, base: 0, size: 0x100000000 },
        { node: 1, base: 0x100000000, size: 0x100000000 },
      ],
    },
    cmrs: [
      { base: 0x0, size: 0x80000000 },
      { base: 0x100000000, size: 0x100000000 },
    ],
    seamrr: { base: 0x80000000, size: 0x2000000, enabled: true, locked: true },
    smrr: { base: 0x88000000, size: 8 * MiB, valid: true, locked: true },
    keyids: { bits: 6, mktme: 31, tdx: 32 },
    cache: { linesPerCpu: 4096, wbinvdSubBlocks: 4 },
    tdxModule: { loaded: true },
  };
}

/**
 * A two-socket host: `perNode` bytes of RAM per socket, the first node starting with the usual
 * low-memory layout and a 2 GiB MMIO hole below 4 GiB; SEAMRR in the hole.
 */
function twoSocket(name: string, cpuModel: PlatformSpecInput['cpuModel'], cores: number, perNode: number, linesPerCpu: number): PlatformSpecInput {
  const node0End = 2 * GiB + perNode; // 2 GiB low + (perNode - 2 GiB) above 4 GiB, shifted by the hole
  const e820: PlatformSpecInput['memory']['e820'] = [
    ...lowE820(0x7c000000),
    { base: 0x7c000000, size: 0x4000000, type: 'reserved' },
    { base: 0x80000000, size: 0x4000000, type: 'reserved' },
    { base: 4 * GiB, size: node0End - 2 * GiB, type: 'usable' },
    { base: 2 * GiB + node0End, size: perNode, type: 'usable' },
  ];
  return {
    name,
    cpuModel,
    topology: { packages: 2, coresPerPackage: cores, threadsPerCore: 2 },
    memory: {
      e820,
      nodes: [
        { node: 0, base: 0, size: 2 * GiB + node0End },
        { node: 1, base: 2 * GiB + node0End, size: perNode },
      ],
    },
    cmrs: [
      { base: 0, size: 0x7c000000 },
      { base: 4 * GiB, size: node0End - 2 * GiB + perNode },
    ],
    seamrr: { base: 0x80000000, size: 0x4000000, enabled: true, locked: true },
    smrr: { base: 0x88000000, size: 8 * MiB, valid: true, locked: true },
    keyids: { bits: 6, mktme: 15, tdx: 48 },
    cache: { linesPerCpu, wbinvdSubBlocks: 8 },
    tdxModule: { loaded: true },
  };
}

/** 8 sockets, 480 logical CPUs, 12 TiB in hundreds of firmware regions. */
function eightSocket(): PlatformSpecInput {
  const perNode = 1.5 * TiB;
  const e820: PlatformSpecInput['memory']['e820'] = [...lowE820(0x7c000000), { base: 0x7c000000, size: 0x4000000, type: 'reserved' }, { base: 0x80000000, size: 0x4000000, type: 'reserved' }];
  const nodes: NonNullable<PlatformSpecInput['memory']['nodes']> = [];
  const cmrs: PlatformSpecInput['cmrs'] = [{ base: 0, size: 0x7c000000 }];
  let base = 4 * GiB;
  for (let n = 0; n < 8; n++) {
    const start = n === 0 ? 0 : base;
    const size = n === 0 ? perNode - 2 * GiB : perNode;
    // Firmware reports each node as many adjacent per-DIMM ranges, with one small ACPI
    // table region carved out near the top of each node.
    const dimms = 48;
    const dimm = Math.floor(size / dimms / GiB) * GiB;
    let b = base;
    for (let d = 0; d < dimms - 1; d++) {
      e820.push({ base: b, size: dimm, type: 'usable' });
      b += dimm;
    }
    const rest = base + size - b;
    e820.push({ base: b, size: rest - 16 * MiB, type: 'usable' });
    e820.push({ base: b + rest - 16 * MiB, size: 16 * MiB, type: 'ACPI data' });
    cmrs.push({ base, size });
    nodes.push({ node: n, base: start, size: base + size - start });
    base += size;
  }
  return {
    name: '8s-12t',
    cpuModel: 'granite-rapids',
    topology: { packages: 8, coresPerPackage: 30, threadsPerCore: 2 },
    memory: { e820, nodes },
    cmrs,
    seamrr: { base: 0x80000000, size: 0x4000000, enabled: true, locked: true },
    smrr: { base: 0x88000000, size: 8 * MiB, valid: true, locked: true },
    keyids: { bits: 7, mktme: 63, tdx: 64 },
    cache: { linesPerCpu: 32768, wbinvdSubBlocks: 16 },
    tdxModule: { loaded: true },
  };
}

/** A small two-socket Granite Rapids host (no erratum, so kexec is allowed). */
function small2s(): PlatformSpecInput {
  const p = twoSocket('small-2s', 'granite-rapids', 1, 2 * GiB, 4096);
  return p;
}

const PRESETS: Record<string, () => PlatformSpecInput> = {
  'small-2s': small2s,
  ref,
  'spr-2s-256g': () => twoSocket('spr-2s-256g', 'sapphire-rapids', 56, 128 * GiB, 32768),
  'emr-2s-1t': () => twoSocket('emr-2s-1t', 'emerald-rapids', 60, 512 * GiB, 32768),
  'gnr-2s-2t': () => twoSocket('gnr-2s-2t', 'granite-rapids', 128, 1 * TiB, 32768),
  '8s-12t': eightSocket,
  'amd-sme-2s': () => {
    const p = twoSocket('amd-sme-2s', 'amd-sme', 2, 4 * GiB, 4096);
    return { ...p, keyids: { bits: 1, mktme: 1, tdx: 0 }, seamrr: { base: 0, size: 0, enabled: false, locked: false }, cmrs: [] };
  },
};

/** Names of all presets. */
export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

/** The raw input of a preset (to copy and edit), or undefined. */
export function presetInput(name: string): PlatformSpecInput | undefined {
  const f = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
  return f === undefined ? undefined : f();
}

/** A validated preset; throws ModelBug if a preset itself is invalid. */
export function preset(name: string): PlatformSpec | undefined {
  const input = presetInput(name);
  if (input === undefined) {
    return undefined;
  }
  const r = parsePlatformSpec(input);
  assert(r.ok, `preset ${name} is invalid: ${r.ok ? '' : JSON.stringify(r.problems)}`);
  return r.spec;
}
