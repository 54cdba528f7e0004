/**
 * The `tdxsim serve` protocol end to end: replies, errors with stable codes, limits, instruction
 * faults as distinct outcomes, seamcall.begin/end, and the TCP transport.
 */
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { presetInput } from '../../src/platform/presets.js';
import { ServerClient } from '../unit/module/serverClient.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('tdxsim serve --stdio: protocol', () => {
  let c: ServerClient;
  beforeAll(() => {
    c = new ServerClient(['serve', '--stdio', '--max-machines', '2', '--max-line-bytes', '4096', '--max-mem-bytes', '64']);
  });
  afterAll(async () => {
    expect(await c.close()).toBe(0);
  });

  it('malformed lines get an error reply and the session goes on', async () => {
    expect((await c.raw('{not json')).error?.code).toBe('TDXSIM_PARSE_ERROR');
    expect((await c.raw('[1,2]')).error?.code).toBe('TDXSIM_BAD_REQUEST');
    expect((await c.raw('{"id":{"x":1},"method":"server.info"}')).error?.code).toBe('TDXSIM_BAD_REQUEST');
    expect((await c.request('no.such.method')).error?.code).toBe('TDXSIM_UNKNOWN_METHOD');
    expect((await c.request('server.info')).result?.['protocol']).toBe(1);
  });
  it('over-long lines are discarded with TDXSIM_LINE_TOO_LONG', async () => {
    const r = await c.raw(`{"id":1,"method":"server.info","params":{"pad":"${'x'.repeat(5000)}"}}`);
    expect(r.error?.code).toBe('TDXSIM_LINE_TOO_LONG');
    expect((await c.request('server.info')).result).toBeDefined();
  });
  it('machine limits, unknown machines, bad params', async () => {
    const a = await c.call('machine.create', { platform: 'ref' });
    const b = await c.call('machine.create', { platform: 'small-2s', module: '1.5.06' });
    expect([a['machine'], b['machine'], b['module']]).toEqual(['m1', 'm2', '1.5.06']);
    expect((await c.request('machine.create', { platform: 'ref' })).error?.code).toBe('TDXSIM_TOO_MANY_MACHINES');
    await c.call('machine.destroy', { machine: 'm2' });
    expect((await c.request('machine.state', { machine: 'm2' })).error?.code).toBe('TDXSIM_UNKNOWN_MACHINE');
    expect((await c.request('machine.create', { platform: 'nope' })).error?.code).toBe('TDXSIM_UNKNOWN_PRESET');
    expect((await c.request('machine.create', { platform: { name: 'x' } })).error?.code).toBe('TDXSIM_BAD_PLATFORM');
    expect((await c.request('machine.create', { platform: 'ref', module: 'tdx-9' })).error?.code).toBe('TDXSIM_UNKNOWN_PROFILE');
    expect((await c.request('seamcall', { machine: 'm1', lp: 9, regs: { rax: '0x21' } })).error?.code).toBe('TDXSIM_BAD_LP');
    expect((await c.request('seamcall', { machine: 'm1', lp: 0, regs: { rax: 33, rbx: '0x1' } })).error?.code).toBe('TDXSIM_BAD_PARAMS');
    expect((await c.request('seamcall', { machine: 'm1', lp: 0, regs: { rax: '0x10000000000000000' } })).error?.code).toBe('TDXSIM_BAD_PARAMS');
    expect((await c.request('fault.inject', { machine: 'm1', site: 'nope', count: 1 })).error?.code).toBe('TDXSIM_BAD_PARAMS');
  });
  it('memory writes and reads are limited and go through the platform', async () => {
    expect((await c.request('mem.write', { machine: 'm1', pa: '0x1000', data: '00'.repeat(65) })).error?.code).toBe('TDXSIM_WRITE_TOO_LARGE');
    expect((await c.request('mem.read', { machine: 'm1', pa: '0x1000', len: 65 })).error?.code).toBe('TDXSIM_READ_TOO_LARGE');
    await c.call('mem.write', { machine: 'm1', pa: '0x1000', data: 'deadbeef' });
    expect((await c.call('mem.read', { machine: 'm1', pa: '0x1000', len: 4 }))['data']).toBe('deadbeef');
    // Through another (MKTME) KeyID the same bytes do not decrypt to the plaintext.
    expect((await c.call('mem.read', { machine: 'm1', pa: '0x1000', len: 4, keyid: 5 }))['data']).not.toBe('deadbeef');
  });
  it('#UD outside VMX operation is an outcome, not a status; lp.set brings VMX back', async () => {
    await c.call('lp.set', { machine: 'm1', lp: 1, vmx: false });
    const r = await c.call('seamcall', { machine: 'm1', lp: 1, regs: { rax: '0x21' } });
    expect([r['outcome'], r['status'], r['statusName']]).toEqual(['UD', '0x8000ff0000000006', 'TDX_SEAMCALL_UD']);
    await c.call('lp.set', { machine: 'm1', lp: 1, vmx: true, online: false });
    expect((await c.request('seamcall', { machine: 'm1', lp: 1, regs: { rax: '0x21' } })).error?.code).toBe('TDXSIM_LP_OFFLINE');
    await c.call('lp.set', { machine: 'm1', lp: 1, online: true });
    expect((await c.call('seamcall', { machine: 'm1', lp: 1, regs: { rax: '0x21' } }))['outcome']).toBe('ok');
    await c.call('machine.destroy', { machine: 'm1' });
  });
  it('#GP without SEAMRR and VMfailInvalid without a module', async () => {
    const ref = presetInput('ref');
    const gp = await c.call('machine.create', { platform: { ...ref, seamrr: { base: 0x80000000, size: 0x2000000, enabled: false, locked: true } } });
    const r1 = await c.call('seamcall', { machine: gp['machine'], lp: 0, regs: { rax: '0x21' } });
    expect([r1['outcome'], r1['status']]).toEqual(['GP', '0x8000ff000000000d']);
    const nm = await c.call('machine.create', { platform: { ...ref, tdxModule: { loaded: false } } });
    const r2 = await c.call('seamcall', { machine: nm['machine'], lp: 0, regs: { rax: '0x21' } });
    expect([r2['outcome'], r2['status'], r2['statusName']]).toEqual(['VMFAILINVALID', '0x8000ff00ffff0000', 'TDX_SEAMCALL_VMFAILINVALID']);
    await c.call('machine.destroy', { machine: gp['machine'] });
    await c.call('machine.destroy', { machine: nm['machine'] });
  });
  it('seamcall.begin keeps an LP inside the module until seamcall.end', async () => {
    const m = (await c.call('machine.create', { platform: 'ref' }))['machine'];
    const b = await c.call('seamcall.begin', { machine: m, lp: 0, regs: { rax: '0x21' } });
    expect(b['done']).toBe(false);
    expect((await c.request('seamcall', { machine: m, lp: 0, regs: { rax: '0x21' } })).error?.code).toBe('TDXSIM_LP_BUSY');
    const busy = await c.call('seamcall', { machine: m, lp: 1, regs: { rax: '0x21' } });
    expect(busy['statusName']).toBe('TDX_SYS_BUSY');
    const st = await c.call('machine.state', { machine: m });
    expect((st['inFlight'] as unknown[]).length).toBe(1);
    expect((await c.call('seamcall.end', { machine: m, call: b['call'] }))['statusName']).toBe('TDX_SUCCESS');
    expect((await c.request('seamcall.end', { machine: m, call: b['call'] })).error?.code).toBe('TDXSIM_UNKNOWN_CALL');
    // A leaf without a scheduling point completes inside begin.
    const d = await c.call('seamcall.begin', { machine: m, lp: 0, regs: { rax: '0x22', rdx: '0x9100000100000008' } });
    expect([d['done'], d['statusName']]).toEqual([true, 'TDX_SYS_LP_INIT_NOT_DONE']);
    await c.call('machine.destroy', { machine: m });
  });
  it('status.describe decodes packed statuses', async () => {
    expect((await c.call('status.describe', { status: '0xc0000a1200000201' }))['display']).toBe('TDX_PAMT_OVERLAP(1, 1G, 0)');
    expect((await c.call('status.describe', { status: '0xc000010000000008' }))['display']).toBe('TDX_OPERAND_INVALID|R8');
    expect((await c.call('status.describe', { status: '0x8000020000000000' }))['recoverable']).toBe(true);
  });
});

describe('tdxsim serve --port', () => {
  it('serves JSON lines on loopback TCP, one session per connection', async () => {
    const proc = spawn(process.execPath, [`${ROOT}dist/cli/main.js`, 'serve', '--port', '0'], { cwd: ROOT });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let err = '';
        proc.stderr.setEncoding('utf8');
        proc.stderr.on('data', (d: string) => {
          err += d;
          const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
          if (m !== null) {
            resolve(Number(m[1]));
          }
        });
        proc.once('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
      });
      const talk = (lines: string[]): Promise<string[]> =>
        new Promise((resolve, reject) => {
          const s = createConnection({ port, host: '127.0.0.1' });
          let buf = '';
          s.setEncoding('utf8');
          s.on('data', (d: string) => {
            buf += d;
            if (buf.split('\n').length > lines.length) {
              s.end();
              resolve(buf.trim().split('\n'));
            }
          });
          s.on('error', reject);
          s.write(lines.map((l) => `${l}\n`).join(''));
        });
      const a = await talk(['{"id":1,"method":"machine.create","params":{"platform":"ref"}}', '{"id":2,"method":"seamcall","params":{"machine":"m1","lp":0,"regs":{"rax":"0x21"}}}']);
      expect(JSON.parse(a[1] as string).result.statusName).toBe('TDX_SUCCESS');
      // A second connection has its own machines.
      const b = await talk(['{"id":1,"method":"machine.list"}']);
      expect(JSON.parse(b[0] as string).result.machines).toEqual([]);
    } finally {
      proc.kill();
    }
  });
  it('rejects --stdio together with --port', () => {
    const r = spawn(process.execPath, [`${ROOT}dist/cli/main.js`, 'serve', '--stdio', '--port', '1'], { cwd: ROOT });
    return new Promise<void>((resolve) => {
      r.once('exit', (code) => {
        expect(code).toBe(2);
        resolve();
      });
    });
  });
  it('serve --stdio whose reader goes away exits quietly (EPIPE), with no stack trace', async () => {
    const r = spawn(process.execPath, [`${ROOT}dist/cli/main.js`, 'serve', '--stdio'], { cwd: ROOT });
    let err = '';
    r.stderr.setEncoding('utf8');
    r.stderr.on('data', (d: string) => {
      err += d;
    });
    r.stdout.once('data', () => r.stdout.destroy());
    const line = '{"id":1,"method":"server.info"}\n';
    r.stdin.on('error', () => undefined);
    for (let i = 0; i < 200; i++) {
      r.stdin.write(line.repeat(100));
    }
    const code = await new Promise((resolve) => r.once('exit', resolve));
    expect(err).toBe('');
    expect(code).toBe(0);
  });
  it('unknown params, prototype names, null mcheck and 16-digit zero-padded addresses', async () => {
    const c = new ServerClient(['serve', '--stdio']);
    try {
      const code = async (m: string, p: Record<string, unknown>): Promise<string | undefined> => (await c.request(m, p)).error?.code;
      expect(await code('machine.create', { platform: 'ref', modul: 'tdx-1.0' })).toBe('TDXSIM_BAD_PARAMS');
      expect(await code('machine.create', { platform: '__proto__' })).toBe('TDXSIM_UNKNOWN_PRESET');
      expect(await code('machine.create', { platform: 'constructor' })).toBe('TDXSIM_UNKNOWN_PRESET');
      expect(await code('platform.preset', { name: 'toString' })).toBe('TDXSIM_UNKNOWN_PRESET');
      expect(await code('machine.create', { platform: 'ref', mcheck: null })).toBe('TDXSIM_BAD_PARAMS');
      await c.call('machine.create', { platform: 'ref' });
      expect(await code('fault.inject', { machine: 'm1', site: 'toString' })).toBe('TDXSIM_BAD_PARAMS');
      expect(await code('fault.inject', { machine: 'm1', site: '__proto__' })).toBe('TDXSIM_BAD_PARAMS');
      expect((await c.call('mem.write', { machine: 'm1', pa: '0x0001400010001000', data: 'aa' }))['written']).toBe(1);
      expect((await c.call('mem.read', { machine: 'm1', pa: '0x0001400010001000', len: 1 }))['data']).toBe('aa');
      expect(await code('mem.read', { machine: 'm1', pa: '0xffffffffffffffff', len: 1 })).toBe('TDXSIM_BAD_PARAMS');
    } finally {
      expect(await c.close()).toBe(0);
    }
  });
  it('an LP inside a SEAMCALL cannot go offline, leave VMX or store; no module update while a call is in flight; offline LPs do not store', async () => {
    const c = new ServerClient(['serve', '--stdio']);
    try {
      const code = async (m: string, p: Record<string, unknown>): Promise<string | undefined> => (await c.request(m, p)).error?.code;
      await c.call('machine.create', { platform: 'ref' });
      await c.call('seamcall', { machine: 'm1', lp: 0, regs: { rax: '0x21' } });
      const b = await c.call('seamcall.begin', { machine: 'm1', lp: 1, regs: { rax: '0x23' } });
      expect(b['done']).toBe(false);
      expect(await code('lp.set', { machine: 'm1', lp: 1, online: false })).toBe('TDXSIM_LP_BUSY');
      expect(await code('lp.set', { machine: 'm1', lp: 1, vmx: false })).toBe('TDXSIM_LP_BUSY');
      expect(await code('mem.write', { machine: 'm1', lp: 1, pa: '0x1000', data: 'aa' })).toBe('TDXSIM_LP_BUSY');
      expect(await code('module.update', { machine: 'm1' })).toBe('TDXSIM_LP_BUSY');
      await c.call('seamcall.end', { machine: 'm1', call: b['call'] });
      expect((await c.call('module.update', { machine: 'm1' }))['installed']).toBe(true);
      await c.call('lp.set', { machine: 'm1', lp: 2, online: false });
      expect(await code('mem.write', { machine: 'm1', lp: 2, pa: '0x1000', data: 'aa' })).toBe('TDXSIM_LP_OFFLINE');
      expect(await code('mem.read', { machine: 'm1', lp: 2, pa: '0x1000', len: 1 })).toBe('TDXSIM_LP_OFFLINE');
    } finally {
      expect(await c.close()).toBe(0);
    }
  });
  it('a bad register value is named by its full path; host accesses outside memory are refused', async () => {
    const c = new ServerClient(['serve', '--stdio']);
    try {
      await c.call('machine.create', { platform: 'ref' });
      const r = await c.request('seamcall', { machine: 'm1', lp: 0, regs: { rax: '0x12345678901234567' } });
      expect(r.error).toEqual({ code: 'TDXSIM_BAD_PARAMS', message: 'params.regs.rax: expected a 64-bit value as a hex string such as "0x1f", got "0x12345678901234567"' });
      // ref: SEAMRR at [0x80000000, 0x82000000), the MMIO hole up to 4 GiB, memory ends at 8 GiB.
      for (const pa of ['0x80000000', '0xc0000000', '0x200000000']) {
        expect((await c.request('mem.write', { machine: 'm1', pa, data: 'aa' })).error?.code).toBe('TDXSIM_NOT_HOST_MEMORY');
        expect((await c.request('mem.read', { machine: 'm1', pa, len: 1 })).error?.code).toBe('TDXSIM_NOT_HOST_MEMORY');
      }
    } finally {
      expect(await c.close()).toBe(0);
    }
  });
});
