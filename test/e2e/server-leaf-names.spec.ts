/**
 * `tdxsim serve`: `rax` as a leaf name (the names `tdxsim explain --leaf` takes), and the one
 * hint line `serve --stdio` prints when stdin is a terminal.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { leafNumberByName } from '../../src/api/seam.js';
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
