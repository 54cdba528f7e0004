/**
 * `tdxsim serve`: `rax` as a leaf name (the names `tdxsim explain --leaf` takes), and the one
 * hint line `serve --stdio` prints when stdin is a terminal.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { leafNumberByName, metadataFieldIdByName } from '../../src/api/seam.js';
import { stdioHint } from '../../src/cli/commands/serve.js';
import { ServerClient } from '../unit/module/serverClient.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HINT = 'tdxsim serve: one JSON request per line; type {"id":1,"method":"server.info"} to start, {"id":2,"method":"machine.create","params":{"platform":"ref"}} for a machine; Ctrl-D ends (docs/server.md)';

describe('serve: leaf names in rax', () => {
  it('leaf names map to their numbers in any spelling; unknown names and prototype keys do not', () => {
    expect([leafNumberByName('TDH.SYS.INIT'), leafNumberByName('tdh_sys_lp_init'), leafNumberByName(' TDH.SYS.RD '), leafNumberByName('TDH.SYS.DISABLE')]).toEqual([33, 35, 34, 69]);
    expect([leafNumberByName('TDH.BOGUS'), leafNumberByName('__proto__'), leafNumberByName('toString')]).toEqual([undefined, undefined, undefined]);
  });

  it('a seamcall with "rax":"TDH.SYS.INIT" is the same call as "rax":"0x21"; an unknown name is a bad param', async () => {
    const c = new ServerClient();
    await c.call('machine.create', { platform: 'ref', module: '1.5.06' });
    await c.call('machine.create', { platform: 'ref', module: '1.5.06' });
    const byName = await c.call('seamcall', { machine: 'm1', lp: 0, regs: { rax: 'TDH.SYS.INIT' } });
    const byNum = await c.call('seamcall', { machine: 'm2', lp: 0, regs: { rax: '0x21' } });
    expect(byName).toEqual(byNum);
    expect(byName['statusName']).toBe('TDX_SUCCESS');
    // LP.INIT by name succeeds once on LP 1, and a second one is refused: the named leaf ran.
    const lp = await c.call('seamcall', { machine: 'm1', lp: 1, regs: { rax: 'tdh.sys.lp.init' } });
    expect(lp['statusName']).toBe('TDX_SUCCESS');
    const again = await c.call('seamcall', { machine: 'm1', lp: 1, regs: { rax: 'TDH_SYS_LP_INIT' } });
    expect(again['statusName']).not.toBe('TDX_SUCCESS');
    const bad = await c.request('seamcall', { machine: 'm1', lp: 0, regs: { rax: 'TDH.SYS.NOPE' } });
    expect(bad.error).toEqual({ code: 'TDXSIM_BAD_PARAMS', message: 'params.regs.rax: "TDH.SYS.NOPE" is not a SEAMCALL leaf name (expected a hex string such as "0x21" or a name such as "TDH.SYS.LP.INIT")' });
    const junk = await c.request('seamcall', { machine: 'm1', lp: 0, regs: { rax: 'banana' } });
    expect(junk.error?.code).toBe('TDXSIM_BAD_PARAMS');
    expect(junk.error?.message).toMatch(/^params\.regs\.rax: expected a 64-bit value/);
    expect(await c.close()).toBe(0);
  });
});

describe('serve: TDH.SYS.RD field names', () => {
  it('field names map to the module table\'s field ids; elements by index; unknown names do not', () => {
    expect(metadataFieldIdByName('MAX_TDMRS')).toBe(0x9100000100000008n);
    expect(metadataFieldIdByName('max_tdmrs')).toBe(0x9100000100000008n);
    expect(metadataFieldIdByName('CMR_BASE[3]')).toBe(0x9000000300000083n);
    expect(metadataFieldIdByName('MAX_VCPUS_PER_TD')).toBe(0x9900000100000008n);
    expect([metadataFieldIdByName('CMR_BASE[32]'), metadataFieldIdByName('MAX_TDMR'), metadataFieldIdByName('__proto__'), metadataFieldIdByName('toString')]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('"rdx":"MAX_TDMRS" reads the same field as its numeric id; an unknown name is a bad param naming it', async () => {
    const c = new ServerClient();
    await c.call('machine.create', { platform: 'ref', module: '1.5.06' });
    for (const lp of [0, 1, 2, 3]) {
      await c.call('seamcall', { machine: 'm1', lp, regs: { rax: lp === 0 ? 'TDH.SYS.INIT' : 'TDH.SYS.LP.INIT' } });
    }
    await c.call('seamcall', { machine: 'm1', lp: 0, regs: { rax: 'TDH.SYS.LP.INIT' } });
    const byName = await c.call('seamcall', { machine: 'm1', lp: 0, regs: { rax: 'TDH.SYS.RD', rdx: 'MAX_TDMRS' } });
    const byId = await c.call('seamcall', { machine: 'm1', lp: 0, regs: { rax: '0x22', rdx: '0x9100000100000008' } });
    expect(byName).toEqual(byId);
    expect(byName['statusName']).toBe('TDX_SUCCESS');
    expect((byName['regs'] as Record<string, string>)['r8']).toBe('0x0000000000000040');
    expect((byName['regs'] as Record<string, string>)['rdx']).toBe('0x9100000100000009');
    const cmr = await c.call('seamcall', { machine: 'm1', lp: 0, regs: { rax: 'TDH.SYS.RD', rdx: 'CMR_SIZE[1]' } });
    expect((cmr['regs'] as Record<string, string>)['r8']).toBe('0x0000000100000000');
    const bad = await c.request('seamcall', { machine: 'm1', lp: 0, regs: { rax: 'TDH.SYS.RD', rdx: 'MAX_TDMR' } });
    expect(bad.error).toEqual({
      code: 'TDXSIM_BAD_PARAMS',
      message:
        'params.regs.rdx: "MAX_TDMR": not a global metadata field name (did you mean "MAX_TDMRS"?); give a field name such as "MAX_TDMRS" or "CMR_BASE[0]" (server.info lists them as metadataFields), or a field id as a hex string such as "0x9100000100000008"',
    });
    const past = await c.request('seamcall', { machine: 'm1', lp: 0, regs: { rax: 'TDH.SYS.RD', rdx: 'CMR_BASE[32]' } });
    expect(past.error?.message).toMatch(/^params\.regs\.rdx: "CMR_BASE\[32\]": element out of range \(CMR_BASE has elements 0\.\.31\);/);
    // Names mean field ids only where the leaf takes one: RDX of another leaf stays a number.
    const other = await c.request('seamcall', { machine: 'm1', lp: 0, regs: { rax: 'TDH.SYS.CONFIG', rdx: 'MAX_TDMRS' } });
    expect(other.error?.message).toMatch(/^params\.regs\.rdx: expected a 64-bit value/);
    const info = await c.call('server.info', {});
    expect((info['metadataFields'] as string[]).slice(0, 3)).toEqual(['NUM_PKGS', 'PKG_FMS', 'VENDOR_ID']);
    expect(await c.close()).toBe(0);
  });

  it('regsOut "changed" replies with RAX and the registers the call changed; the default stays all eleven', async () => {
    const c = new ServerClient();
    await c.call('machine.create', { platform: 'ref', module: '1.5.06' });
    await c.call('seamcall', { machine: 'm1', lp: 0, regs: { rax: 'TDH.SYS.INIT' } });
    await c.call('seamcall', { machine: 'm1', lp: 0, regs: { rax: 'TDH.SYS.LP.INIT' } });
    const all = await c.call('seamcall', { machine: 'm1', lp: 0, regs: { rax: 'TDH.SYS.RD', rdx: 'MAX_TDMRS' } });
    expect(Object.keys(all['regs'] as object)).toEqual(['rax', 'rcx', 'rdx', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15']);
    const changed = await c.call('seamcall', { machine: 'm1', lp: 0, regs: { rax: 'TDH.SYS.RD', rdx: 'MAX_TDMRS' }, regsOut: 'changed' });
    expect(changed).toEqual({ outcome: 'ok', status: '0x0000000000000000', statusName: 'TDX_SUCCESS', regs: { rax: '0x0000000000000000', rdx: '0x9100000100000009', r8: '0x0000000000000040' } });
    // A fault changes nothing but RAX's status.
    await c.call('lp.set', { machine: 'm1', lp: 1, vmx: false });
    const ud = await c.call('seamcall', { machine: 'm1', lp: 1, regs: { rax: 'TDH.SYS.LP.INIT', rcx: '0x5' }, regsOut: 'changed' });
    expect(ud['outcome']).toBe('UD');
    expect(Object.keys(ud['regs'] as object)).toEqual(['rax']);
    const bad = await c.request('seamcall', { machine: 'm1', lp: 0, regs: { rax: 'TDH.SYS.RD' }, regsOut: 'some' });
    expect(bad.error).toEqual({ code: 'TDXSIM_BAD_PARAMS', message: 'params.regsOut: expected "all" (every register, the default) or "changed" (RAX and the registers whose value differs from the call\'s input), got "some"' });
    expect(await c.close()).toBe(0);
  });
});

describe('serve --stdio: a hint on a terminal only', () => {
  it('the hint text, and none off a terminal', () => {
    expect(stdioHint(true)).toBe(`${HINT}\n`);
    expect(stdioHint(false)).toBeUndefined();
    const r = spawnSync(process.execPath, ['dist/cli/main.js', 'serve', '--stdio'], { cwd: ROOT, input: '{"id":1,"method":"server.info"}\n', encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('on a pseudo-terminal (util-linux script) the hint is printed once', () => {
    if (!existsSync('/usr/bin/script')) {
      console.log('skipped: /usr/bin/script (util-linux) is not installed, so no pseudo-terminal to test with');
      return;
    }
    const r = spawnSync('/usr/bin/script', ['-qec', `${process.execPath} dist/cli/main.js serve --stdio`, '/dev/null'], { cwd: ROOT, input: '{"id":1,"method":"server.info"}\n', encoding: 'utf8', timeout: 20000 });
    expect(r.status).toBe(0);
    const lines = r.stdout.split(/\r?\n/);
    expect(lines.filter((l) => l === HINT)).toHaveLength(1);
    expect(lines.some((l) => l.startsWith('{"id":1,"result":{"protocol":1,'))).toBe(true);
  });
});
