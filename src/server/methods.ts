/**
 * The server's methods: each turns validated params into a call on the api façade and a JSON
 * result. Errors are TdxsimError with a stable code; the session turns them into error replies.
 * @see docs/server.md
 */
import { TdxsimError } from '../api/errors.js';
import { createSeamMachine, describeStatus, FAULT_SITES, leafNumberByName, MODULE_PROFILE_NAMES, platformPreset, presetNames, regsFrom, SEAM_REG_NAMES } from '../api/seam.js';
import type { SeamCallResult, SeamMachine, SeamRegName } from '../api/seam.js';
import type { Params, ServerLimits } from './protocol.js';
import { bytesParam, hex64, numParam, optBool, optNum, strParam, u64Param } from './protocol.js';

/** Per-connection state the methods use. */
export interface SessionState {
  readonly machines: Map<string, SeamMachine>;
  readonly limits: ServerLimits;
  readonly budget: { checkMachine(): void };
  nextMachine: number;
  /** Throws TDXSIM_MEMORY_LIMIT if `growth` more bytes would cross a memory limit. */
  checkMemory(growth: number): void;
}

/** A method implementation. */
export type Method = (s: SessionState, p: Params) => unknown;

function machineOf(s: SessionState, p: Params): SeamMachine {
  const id = strParam(p, 'machine');
  const m = s.machines.get(id);
  if (m === undefined) {
    throw new TdxsimError('TDXSIM_UNKNOWN_MACHINE', `no machine "${id}" on this connection (alive: ${[...s.machines.keys()].join(', ') || 'none'})`);
  }
  return m;
}

/**
 * `rax` given as a leaf name ("TDH.SYS.LP.INIT", version 0), or undefined when it is not a
 * name-like string (numbers and hex strings go through u64Param). An unknown name is an error.
 */
function raxParam(v: unknown): bigint | undefined {
  if (typeof v !== 'string' || !/^\s*TDH[._]/i.test(v)) {
    return undefined;
  }
  const n = leafNumberByName(v);
  if (n === undefined) {
    throw new TdxsimError('TDXSIM_BAD_PARAMS', `params.regs.rax: ${JSON.stringify(v.slice(0, 80))} is not a SEAMCALL leaf name (expected a hex string such as "0x21" or a name such as "TDH.SYS.LP.INIT")`);
  }
  return BigInt(n);
}

function regsParam(p: Params): ReturnType<typeof regsFrom> {
  const r = p['regs'];
  if (typeof r !== 'object' || r === null || Array.isArray(r)) {
    throw new TdxsimError('TDXSIM_BAD_PARAMS', 'params.regs: expected an object such as {"rax":"0x21","rcx":"0x0"}');
  }
  const rec = r as Record<string, unknown>;
  for (const k of Object.keys(rec)) {
    if (!(SEAM_REG_NAMES as readonly string[]).includes(k)) {
      throw new TdxsimError('TDXSIM_BAD_PARAMS', `params.regs.${k}: not a SEAMCALL register (known: ${SEAM_REG_NAMES.join(', ')})`);
    }
  }
  const out: Partial<Record<SeamRegName, bigint>> = {};
  for (const n of SEAM_REG_NAMES) {
    if (rec[n] !== undefined) {
      out[n] = n === 'rax' ? raxParam(rec[n]) ?? u64Param(rec, n, undefined, 'params.regs') : u64Param(rec, n, undefined, 'params.regs');
    }
  }
  if (out.rax === undefined) {
    throw new TdxsimError('TDXSIM_BAD_PARAMS', 'params.regs.rax: required (leaf number and version, or a leaf name such as "TDH.SYS.LP.INIT")');
  }
  return regsFrom(out);
}

/** The JSON form of a SEAMCALL result. */
export function callResult(r: SeamCallResult): Record<string, unknown> {
  const regs: Record<string, string> = {};
  for (const n of SEAM_REG_NAMES) {
    regs[n] = hex64(r.regs[n]);
  }
  return { outcome: r.outcome, status: hex64(r.status), statusName: r.statusName, regs };
}

function lpParam(p: Params): number {
  return numParam(p, 'lp');
}

function msrsParam(p: Params): Map<number, bigint> | undefined {
  const v = p['msrs'];
  if (v === undefined) {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new TdxsimError('TDXSIM_BAD_PARAMS', 'params.msrs: expected an object {"0x3b": "0x1", ...}');
  }
  const out = new Map<number, bigint>();
  for (const k of Object.keys(v as Record<string, unknown>)) {
    if (!/^0x[0-9a-fA-F]{1,8}$/.test(k)) {
      throw new TdxsimError('TDXSIM_BAD_PARAMS', `params.msrs: MSR address "${k}" must be a hex string such as "0x3b"`);
    }
    out.set(Number(k), u64Param(v as Record<string, unknown>, k));
  }
  return out;
}

function mcheckParam(p: Params): { cmrs: { base: number; size: number }[] } | undefined {
  const v = p['mcheck'];
  if (v === undefined) {
    return undefined;
  }
  const cmrs = typeof v === 'object' && v !== null ? (v as { cmrs?: unknown }).cmrs : undefined;
  if (!Array.isArray(cmrs) || cmrs.length > 32) {
    throw new TdxsimError('TDXSIM_BAD_PARAMS', 'params.mcheck: expected {"cmrs": [{"base": "0x0", "size": "0x80000000"}, ...]} with at most 32 entries');
  }
  return {
    cmrs: cmrs.map((c: unknown) => {
      if (typeof c !== 'object' || c === null) {
        throw new TdxsimError('TDXSIM_BAD_PARAMS', 'params.mcheck.cmrs: each entry is {"base": ..., "size": ...}');
      }
      return { base: numParam(c as Params, 'base'), size: numParam(c as Params, 'size') };
    }),
  };
}

const MACHINE_LP_REGS = ['machine', 'lp', 'regs'];

/** The params each method accepts; any other name is refused with TDXSIM_BAD_PARAMS. */
export const METHOD_PARAMS: Readonly<Record<string, readonly string[]>> = {
  'machine.create': ['platform', 'module', 'seed', 'vmx', 'mcheck'],
  'machine.destroy': ['machine'],
  'machine.state': ['machine'],
  'machine.list': [],
  'module.update': ['machine'],
  'mem.write': ['machine', 'pa', 'data', 'keyid', 'lp'],
  'mem.read': ['machine', 'pa', 'len', 'keyid', 'lp'],
  seamcall: MACHINE_LP_REGS,
  'seamcall.begin': MACHINE_LP_REGS,
  'seamcall.end': ['machine', 'call'],
  'lp.set': ['machine', 'lp', 'online', 'vmx', 'msrs'],
  'fault.inject': ['machine', 'site', 'count', 'skip'],
  'status.describe': ['status'],
  'platform.preset': ['name'],
  'server.info': [],
};

/** Refuse params the method does not take (a misspelt "modul" must not silently mean the default). */
export function checkParamNames(method: string, p: Params): void {
  const known = Object.hasOwn(METHOD_PARAMS, method) ? (METHOD_PARAMS[method] ?? []) : [];
  for (const k of Object.keys(p)) {
    if (!known.includes(k)) {
      throw new TdxsimError('TDXSIM_BAD_PARAMS', `params.${k}: ${method} takes no such parameter (it takes: ${known.join(', ') || 'none'})`);
    }
  }
}

/** Every method, by name. */
export const METHODS: Readonly<Record<string, Method>> = {
  'machine.create': (s, p) => {
    if (s.machines.size >= s.limits.maxMachines) {
      throw new TdxsimError('TDXSIM_TOO_MANY_MACHINES', `this connection already has ${s.machines.size} machines (limit ${s.limits.maxMachines}, --max-machines); destroy one with machine.destroy`);
    }
    s.budget.checkMachine();
    s.checkMemory(0);
    if (p['platform'] === undefined) {
      throw new TdxsimError('TDXSIM_BAD_PARAMS', `params.platform: required (a preset name such as "ref", or a platform object; presets: ${presetNames().join(', ')})`);
    }
    const module = p['module'] === undefined ? undefined : strParam(p, 'module');
    const seed = optNum(p, 'seed');
    const vmx = optBool(p, 'vmx');
    const mcheck = mcheckParam(p);
    const m = createSeamMachine({
      platform: p['platform'],
      ...(module === undefined ? {} : { module }),
      ...(seed === undefined ? {} : { seed }),
      ...(vmx === undefined ? {} : { vmx }),
      ...(mcheck === undefined ? {} : { mcheck }),
    });
    const id = `m${s.nextMachine++}`;
    s.machines.set(id, m);
    return { machine: id, ...m.info() };
  },
  'machine.destroy': (s, p) => {
    const m = machineOf(s, p);
    s.machines.delete(strParam(p, 'machine'));
    return { destroyed: true, lps: m.machine.platform.cpus.length };
  },
  'machine.state': (s, p) => machineOf(s, p).state(),
  'machine.list': (s) => ({ machines: [...s.machines.keys()] }),
  'module.update': (s, p) => {
    const m = machineOf(s, p);
    s.checkMemory(0);
    m.installUpdate();
    return { installed: true };
  },
  'mem.write': (s, p) => {
    const m = machineOf(s, p);
    const data = bytesParam(p, 'data', s.limits.maxMemBytes);
    s.checkMemory(m.writeGrowthBound(data.length, numParam(p, 'lp', 0)));
    m.memWrite(numParam(p, 'pa'), data, optNum(p, 'keyid'), numParam(p, 'lp', 0));
    return { written: data.length };
  },
  'mem.read': (s, p) => {
    const m = machineOf(s, p);
    const len = numParam(p, 'len');
    if (len > s.limits.maxMemBytes) {
      throw new TdxsimError('TDXSIM_READ_TOO_LARGE', `params.len: ${len} bytes is more than the limit of ${s.limits.maxMemBytes} bytes per request`);
    }
    const r = m.memRead(numParam(p, 'pa'), len, optNum(p, 'keyid'), numParam(p, 'lp', 0));
    return 'data' in r ? { data: Buffer.from(r.data).toString('hex') } : { data: null, poison: hex64(BigInt(r.poisonPa)) };
  },
  seamcall: (s, p) => {
    const m = machineOf(s, p);
    s.checkMemory(0);
    return callResult(m.seamcall(lpParam(p), regsParam(p)));
  },
  'seamcall.begin': (s, p) => {
    const m = machineOf(s, p);
    s.checkMemory(0);
    const r = m.begin(lpParam(p), regsParam(p));
    return 'call' in r ? { call: r.call, done: false } : { done: true, ...callResult(r.result) };
  },
  'seamcall.end': (s, p) => callResult(machineOf(s, p).end(strParam(p, 'call'))),
  'lp.set': (s, p) => {
    const online = optBool(p, 'online');
    const vmx = optBool(p, 'vmx');
    const msrs = msrsParam(p);
    return machineOf(s, p).lpSet(lpParam(p), { ...(online === undefined ? {} : { online }), ...(vmx === undefined ? {} : { vmx }), ...(msrs === undefined ? {} : { msrs }) });
  },
  'fault.inject': (s, p) => {
    const count = numParam(p, 'count', 1);
    const skip = numParam(p, 'skip', 0);
    return { armed: machineOf(s, p).faultInject(strParam(p, 'site'), count, skip) };
  },
  'status.describe': (_s, p) => describeStatus(u64Param(p, 'status')),
  'platform.preset': (_s, p) => platformPreset(strParam(p, 'name')),
  'server.info': (s) => ({
    protocol: 1,
    methods: Object.keys(METHODS),
    modules: MODULE_PROFILE_NAMES,
    presets: presetNames(),
    faultSites: FAULT_SITES,
    limits: s.limits,
  }),
};
