/**
 * The server's methods: each turns validated params into a call on the api façade and a JSON
 * result. Errors are TdxsimError with a stable code; the session turns them into error replies.
 * @see docs/server.md
 */
import { TdxsimError } from '../api/errors.js';
import { closestName } from '../api/profileNames.js';
import { createSeamMachine, describeStatus, FAULT_SITES, leafNumberByName, METADATA_FIELD_NAMES, metadataFieldElements, metadataFieldIdByName, MODULE_PROFILE_NAMES, platformPreset, presetNames, regsFrom, SEAM_REG_NAMES } from '../api/seam.js';
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

/** Leaf numbers whose field-id register may be given as a global metadata field name. @see TDX module ABI sections 3.4, 3.5 */
const TDH_SYS_RD = 34;
const TDH_SYS_RDALL = 37;

/**
 * A field id given by name ("MAX_TDMRS", "CMR_BASE[3]") where the leaf takes a global metadata
 * field id: RDX of TDH.SYS.RD, R8 of TDH.SYS.RDALL. Undefined when the value is not name-like
 * (numbers and "0x..." strings go through u64Param); an unknown name is bad params naming it.
 */
function fieldNameParam(leaf: number, reg: SeamRegName, v: unknown): bigint | undefined {
  const takesField = (leaf === TDH_SYS_RD && reg === 'rdx') || (leaf === TDH_SYS_RDALL && reg === 'r8');
  if (!takesField || typeof v !== 'string' || !/^\s*[A-Za-z]/.test(v) || /^\s*0x/i.test(v)) {
    return undefined;
  }
  const id = metadataFieldIdByName(v);
  if (id === undefined) {
    const base = v.trim().replace(/\[.*$/, '').toUpperCase();
    const elems = metadataFieldElements(base);
    const near = elems !== undefined ? undefined : closestName(base, METADATA_FIELD_NAMES);
    const why = elems !== undefined ? `element out of range (${base} has elements 0..${elems - 1})` : `not a global metadata field name${near !== undefined ? ` (did you mean "${near}"?)` : ''}`;
    throw new TdxsimError('TDXSIM_BAD_PARAMS', `params.regs.${reg}: ${JSON.stringify(v.slice(0, 80))}: ${why}; give a field name such as "MAX_TDMRS" or "CMR_BASE[0]" (server.info lists them as metadataFields), or a field id as a hex string such as "0x9100000100000008"`);
  }
  return id;
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
  if (rec['rax'] === undefined) {
    throw new TdxsimError('TDXSIM_BAD_PARAMS', 'params.regs.rax: required (leaf number and version, or a leaf name such as "TDH.SYS.LP.INIT")');
  }
  const rax = raxParam(rec['rax']) ?? u64Param(rec, 'rax', undefined, 'params.regs');
  const leaf = Number(rax & 0xffffn);
  const out: Partial<Record<SeamRegName, bigint>> = { rax };
  for (const n of SEAM_REG_NAMES) {
    if (n !== 'rax' && rec[n] !== undefined) {
      out[n] = fieldNameParam(leaf, n, rec[n]) ?? u64Param(rec, n, undefined, 'params.regs');
    }
  }
  return regsFrom(out);
}

/** Which registers a reply carries: all eleven (the default), or only those the call changed (and RAX). */
type RegsOut = 'all' | 'changed';

function regsOutParam(p: Params): RegsOut {
  const v = p['regsOut'];
  if (v === undefined || v === 'all' || v === 'changed') {
    return v ?? 'all';
  }
  throw new TdxsimError('TDXSIM_BAD_PARAMS', `params.regsOut: expected "all" (every register, the default) or "changed" (RAX and the registers whose value differs from the call's input), got ${JSON.stringify(v) ?? 'nothing'}`);
}

/**
 * The JSON form of a SEAMCALL result: every register, or with `regsOut: "changed"` RAX and the
 * registers whose value after the call differs from what the call was given.
 */
export function callResult(r: SeamCallResult, regsOut: RegsOut = 'all'): Record<string, unknown> {
  const regs: Record<string, string> = {};
  for (const n of SEAM_REG_NAMES) {
    if (regsOut === 'all' || n === 'rax' || r.regs[n] !== r.input[n]) {
      regs[n] = hex64(r.regs[n]);
    }
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

const MACHINE_LP_REGS = ['machine', 'lp', 'regs', 'regsOut'];

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
  'seamcall.end': ['machine', 'call', 'regsOut'],
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
    const out = regsOutParam(p);
    return callResult(m.seamcall(lpParam(p), regsParam(p)), out);
  },
  'seamcall.begin': (s, p) => {
    const m = machineOf(s, p);
    s.checkMemory(0);
    const out = regsOutParam(p);
    const r = m.begin(lpParam(p), regsParam(p));
    return 'call' in r ? { call: r.call, done: false } : { done: true, ...callResult(r.result, out) };
  },
  'seamcall.end': (s, p) => {
    const out = regsOutParam(p);
    return callResult(machineOf(s, p).end(strParam(p, 'call')), out);
  },
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
    metadataFields: METADATA_FIELD_NAMES,
    limits: s.limits,
  }),
};
