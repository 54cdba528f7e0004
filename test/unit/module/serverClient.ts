/**
 * A test client for `tdxsim serve --stdio`: spawns the built CLI, sends JSON-lines requests and
 * matches replies by id. `Host` wraps one machine with the calls a host kernel makes.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { CFG_A, cfgA, encodeTdmrInfo, encodeU64s, tdParams, toHex } from './cfgA.js';
import type { TdmrInfoInput } from './cfgA.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** A reply: result or error. */
export interface Reply {
  id: number;
  result?: Record<string, unknown>;
  error?: { code: string; message: string };
}

/** A spawned server. */
export class ServerClient {
  private readonly proc: ChildProcessWithoutNullStreams;
  private buf = '';
  private nextId = 1;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  /** Replies with a null id (malformed lines), in order. */
  readonly orphans: Reply[] = [];
  private orphanWaiters: ((r: Reply) => void)[] = [];

  constructor(args: string[] = ['serve', '--stdio']) {
    this.proc = spawn(process.execPath, [`${ROOT}dist/cli/main.js`, ...args], { cwd: ROOT });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const r = JSON.parse(line) as Reply;
        const w = typeof r.id === 'number' ? this.waiting.get(r.id) : undefined;
        if (w !== undefined) {
          this.waiting.delete(r.id);
          w(r);
        } else {
          const ow = this.orphanWaiters.shift();
          if (ow !== undefined) {
            ow(r);
          } else {
            this.orphans.push(r);
          }
        }
      }
    });
  }

  /** Send a raw line (may be malformed); resolves with the next id-less reply. */
  raw(line: string): Promise<Reply> {
    const p = new Promise<Reply>((resolve) => {
      const o = this.orphans.shift();
      if (o !== undefined) {
        resolve(o);
      } else {
        this.orphanWaiters.push(resolve);
      }
    });
    this.proc.stdin.write(`${line}\n`);
    return p;
  }

  /** Send one request; resolves with its reply. */
  request(method: string, params: Record<string, unknown> = {}): Promise<Reply> {
    const id = this.nextId++;
    const p = new Promise<Reply>((resolve) => this.waiting.set(id, resolve));
    this.proc.stdin.write(`${JSON.stringify({ id, method, params })}\n`);
    return p;
  }

  /** Send a request and return its result; throws on an error reply. */
  async call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const r = await this.request(method, params);
    if (r.error !== undefined) {
      throw new Error(`${method}: ${r.error.code}: ${r.error.message}`);
    }
    return r.result ?? {};
  }

  /** Stop the server (closes stdin; it exits when the session ends). */
  close(): Promise<number | null> {
    return new Promise((resolve) => {
      this.proc.once('exit', (code) => resolve(code));
      this.proc.stdin.end();
    });
  }
}

/** Register values a test passes (bigints), by name. */
export type Regs = Partial<Record<'rax' | 'rcx' | 'rdx' | 'r8' | 'r9' | 'r10' | 'r11' | 'r12' | 'r13' | 'r14' | 'r15', bigint>>;

/** A SEAMCALL result with registers as bigints. */
export interface CallOut {
  outcome: string;
  status: bigint;
  statusName: string;
  rax: bigint;
  rcx: bigint;
  rdx: bigint;
  r8: bigint;
  r9: bigint;
  r10: bigint;
  r11: bigint;
  r12: bigint;
  r13: bigint;
}

const hx = (v: bigint): string => `0x${v.toString(16)}`;

/** Leaf numbers used by the tests. */
export const L = {
  MNG_ADDCX: 1n,
  MEM_PAGE_ADD: 2n,
  MEM_SEPT_ADD: 3n,
  VP_ADDCX: 4n,
  MEM_PAGE_AUG: 6n,
  MNG_KEY_CONFIG: 8n,
  MNG_CREATE: 9n,
  VP_CREATE: 10n,
  VP_FLUSH: 18n,
  MNG_VPFLUSHDONE: 19n,
  MNG_KEY_FREEID: 20n,
  MNG_INIT: 21n,
  VP_INIT: 22n,
  PHYMEM_PAGE_RDMD: 24n,
  MNG_KEY_RECLAIMID: 27n,
  PHYMEM_PAGE_RECLAIM: 28n,
  SYS_KEY_CONFIG: 31n,
  SYS_INFO: 32n,
  SYS_INIT: 33n,
  SYS_RD: 34n,
  SYS_LP_INIT: 35n,
  SYS_TDMR_INIT: 36n,
  SYS_RDALL: 37n,
  PHYMEM_CACHE_WB: 40n,
  PHYMEM_PAGE_WBINVD: 41n,
  SYS_LP_SHUTDOWN: 44n,
  SYS_CONFIG: 45n,
  SYS_SHUTDOWN: 52n,
  SYS_UPDATE: 53n,
} as const;

function toOut(r: Record<string, unknown>): CallOut {
  const regs = r['regs'] as Record<string, string>;
  const b = (n: string): bigint => BigInt(regs[n] ?? '0x0');
  return { outcome: r['outcome'] as string, status: BigInt(r['status'] as string), statusName: r['statusName'] as string, rax: b('rax'), rcx: b('rcx'), rdx: b('rdx'), r8: b('r8'), r9: b('r9'), r10: b('r10'), r11: b('r11'), r12: b('r12'), r13: b('r13') };
}

/** One machine on a server, driven the way a host kernel would. */
export class Host {
  private constructor(
    readonly client: ServerClient,
    readonly machine: string,
    readonly info: Record<string, unknown>,
  ) {}

  /** machine.create on `client`. */
  static async create(client: ServerClient, params: Record<string, unknown> = {}): Promise<Host> {
    const r = await client.call('machine.create', { platform: 'ref', ...params });
    return new Host(client, r['machine'] as string, r);
  }

  /** Run `fn` on a fresh machine (`create` with `params`), destroyed afterwards whatever happens. */
  static async using(client: ServerClient, fn: (h: Host) => Promise<void>, params: Record<string, unknown> = {}): Promise<void> {
    const h = await Host.create(client, params);
    try {
      await fn(h);
    } finally {
      await h.destroy();
    }
  }

  /** SEAMCALL on `lp`. */
  async call(lp: number, regs: Regs): Promise<CallOut> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(regs)) {
      out[k] = hx(v);
    }
    return toOut(await this.client.call('seamcall', { machine: this.machine, lp, regs: out }));
  }

  /** Many SEAMCALLs, pipelined; returns their results in order. */
  async callMany(lp: number, regs: Regs, n: number): Promise<CallOut[]> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(regs)) {
      out[k] = hx(v);
    }
    const ps: Promise<Record<string, unknown>>[] = [];
    for (let i = 0; i < n; i++) {
      ps.push(this.client.call('seamcall', { machine: this.machine, lp, regs: out }));
    }
    return (await Promise.all(ps)).map(toOut);
  }

  /** Start a SEAMCALL and leave it inside the module (holding its first locks). */
  async begin(lp: number, regs: Regs): Promise<string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(regs)) {
      out[k] = hx(v);
    }
    const r = await this.client.call('seamcall.begin', { machine: this.machine, lp, regs: out });
    return r['call'] as string;
  }

  /** Finish a SEAMCALL started with begin. */
  async end(call: string): Promise<CallOut> {
    return toOut(await this.client.call('seamcall.end', { machine: this.machine, call }));
  }

  /** Host store through `keyid` (default: KeyID bits of pa). */
  async write(pa: number | bigint, data: Uint8Array, keyid?: number): Promise<void> {
    await this.client.call('mem.write', { machine: this.machine, pa: hx(BigInt(pa)), data: toHex(data), ...(keyid === undefined ? {} : { keyid }) });
  }

  /** Host load. */
  async read(pa: number | bigint, len: number, keyid?: number): Promise<Uint8Array> {
    const r = await this.client.call('mem.read', { machine: this.machine, pa: hx(BigInt(pa)), len, ...(keyid === undefined ? {} : { keyid }) });
    return Uint8Array.from(Buffer.from(r['data'] as string, 'hex'));
  }

  /** machine.state. */
  state(): Promise<Record<string, unknown>> {
    return this.client.call('machine.state', { machine: this.machine });
  }

  /** Arm a fault site. */
  async fault(site: string, count = 1, skip = 0): Promise<void> {
    await this.client.call('fault.inject', { machine: this.machine, site, count, skip });
  }

  /** machine.destroy. */
  async destroy(): Promise<void> {
    await this.client.call('machine.destroy', { machine: this.machine });
  }

  /** Write CFG-A (or a variant) into memory exactly as a host would: TDMR_INFOs and the PA array. */
  async writeCfgA(edit?: (t: [TdmrInfoInput, TdmrInfoInput]) => void, array: bigint[] = [BigInt(CFG_A.info0), BigInt(CFG_A.info1)]): Promise<void> {
    const t = cfgA();
    edit?.(t);
    await this.write(CFG_A.info0, encodeTdmrInfo(t[0]));
    await this.write(CFG_A.info1, encodeTdmrInfo(t[1]));
    await this.write(CFG_A.array, encodeU64s(array));
  }

  /** TDH.SYS.CONFIG with CFG-A's registers from LP0. */
  config(r8 = 32n, lp = 0): Promise<CallOut> {
    return this.call(lp, { rax: L.SYS_CONFIG, rcx: BigInt(CFG_A.array), rdx: 2n, r8 });
  }

  /**
   * From S5, a TD at `tdr` initialized as KVM does it: TDH.MNG.CREATE with HKID `hkid`,
   * TDH.MNG.KEY.CONFIG on LP 0 and LP 2 (both packages), six TDH.MNG.ADDCX pages after the TDR,
   * TD_PARAMS (tdParams()) at 0x10004000 and TDH.MNG.INIT. Throws, naming the call and status, if
   * one fails.
   */
  async initTd(tdr: bigint, hkid = 33n): Promise<void> {
    const ok = async (lp: number, regs: Regs, what: string): Promise<void> => {
      const o = await this.call(lp, regs);
      if (o.status !== 0n) {
        throw new Error(`${what}: ${o.statusName}`);
      }
    };
    await ok(0, { rax: L.MNG_CREATE, rcx: tdr, rdx: hkid }, 'MNG.CREATE');
    await ok(0, { rax: L.MNG_KEY_CONFIG, rcx: tdr }, 'MNG.KEY.CONFIG LP0');
    await ok(2, { rax: L.MNG_KEY_CONFIG, rcx: tdr }, 'MNG.KEY.CONFIG LP2');
    for (let i = 1; i <= 6; i++) {
      await ok(0, { rax: L.MNG_ADDCX, rcx: tdr + BigInt(i * 0x1000), rdx: tdr }, `MNG.ADDCX ${i}`);
    }
    await this.write(0x10004000, tdParams());
    await ok(0, { rax: L.MNG_INIT, rcx: tdr, rdx: 0x10004000n }, 'MNG.INIT');
  }

  /** Bring the module to a named state of spec 10.2. */
  async boot(to: 'S1' | 'S2' | 'S3' | 'S4' | 'S5', configR8 = 32n): Promise<void> {
    const ok = (o: CallOut, what: string): void => {
      if (o.status !== 0n) {
        throw new Error(`${what}: ${o.statusName}`);
      }
    };
    ok(await this.call(0, { rax: L.SYS_INIT }), 'SYS.INIT');
    if (to === 'S1') {
      return;
    }
    for (let lp = 0; lp < 4; lp++) {
      ok(await this.call(lp, { rax: L.SYS_LP_INIT }), `LP.INIT ${lp}`);
    }
    if (to === 'S2') {
      return;
    }
    await this.writeCfgA();
    ok(await this.config(configR8), 'SYS.CONFIG');
    if (to === 'S3') {
      return;
    }
    ok(await this.call(0, { rax: L.SYS_KEY_CONFIG }), 'KEY.CONFIG LP0');
    ok(await this.call(2, { rax: L.SYS_KEY_CONFIG }), 'KEY.CONFIG LP2');
    if (to === 'S4') {
      return;
    }
    for (const [base, n] of [
      [0n, 512],
      [0x100000000n, 1024],
    ] as const) {
      const rs = await this.callMany(0, { rax: L.SYS_TDMR_INIT, rcx: base }, n);
      rs.forEach((r, i) => ok(r, `TDMR.INIT ${base} #${i + 1}`));
    }
  }
}
