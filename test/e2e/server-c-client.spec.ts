/**
 * The C examples talk to `tdxsim serve --stdio`: compiled with the system C compiler when there
 * is one, skipped with a message otherwise. examples/seamcall-client.c brings the module up;
 * examples/td-lifecycle.c builds, runs and destroys a TD in KVM's SEAMCALL order.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function findCc(): string | undefined {
  for (const cc of [process.env['CC'], 'cc', 'gcc', 'clang']) {
    if (cc !== undefined && cc !== '' && spawnSync(cc, ['--version'], { stdio: 'ignore' }).status === 0) {
      return cc;
    }
  }
  return undefined;
}

const cc = findCc();
if (cc === undefined) {
  console.warn('server-c-client: no C compiler (cc, gcc, clang) found; skipping the C example tests (examples/seamcall-client.c, examples/td-lifecycle.c)');
}

describe.skipIf(cc === undefined)('examples/seamcall-client.c', () => {
  it('compiles, initializes the module on every LP and reads MAX_TDMRS through the server', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tdxsim-c-'));
    try {
      const exe = join(dir, 'seamcall-client');
      execFileSync(cc as string, ['-O2', '-Wall', '-Wextra', '-Werror', '-o', exe, join(ROOT, 'examples/seamcall-client.c')], { stdio: 'pipe' });
      const r = spawnSync(exe, [process.execPath, join(ROOT, 'dist/cli/main.js'), 'serve', '--stdio'], { encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(
        [
          'machine m1: 4 LPs',
          'TDH.SYS.INIT     lp 0: status 0x0000000000000000 TDX_SUCCESS',
          'TDH.SYS.LP.INIT  lp 0: status 0x0000000000000000 TDX_SUCCESS',
          'TDH.SYS.LP.INIT  lp 1: status 0x0000000000000000 TDX_SUCCESS',
          'TDH.SYS.LP.INIT  lp 2: status 0x0000000000000000 TDX_SUCCESS',
          'TDH.SYS.LP.INIT  lp 3: status 0x0000000000000000 TDX_SUCCESS',
          'TDH.SYS.RD       lp 0: status 0x0000000000000000 TDX_SUCCESS',
          'MAX_TDMRS = 64',
          '',
        ].join('\n'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(cc === undefined)('examples/td-lifecycle.c', () => {
  it('compiles, then builds, enters and destroys a TD through the server, every SEAMCALL as expected', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tdxsim-c-'));
    try {
      const exe = join(dir, 'td-lifecycle');
      execFileSync(cc as string, ['-O2', '-Wall', '-Wextra', '-Werror', '-o', exe, join(ROOT, 'examples/td-lifecycle.c')], { stdio: 'pipe' });
      const r = spawnSync(exe, [process.execPath, join(ROOT, 'dist/cli/main.js'), 'serve', '--stdio'], { encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(
        [
          'machine m1: 4 LPs, module 1.5.06',
          'TDH.SYS.INIT                 lp 0: TDX_SUCCESS',
          'TDH.SYS.LP.INIT              lp 0: TDX_SUCCESS',
          'TDH.SYS.LP.INIT              lp 1: TDX_SUCCESS',
          'TDH.SYS.LP.INIT              lp 2: TDX_SUCCESS',
          'TDH.SYS.LP.INIT              lp 3: TDX_SUCCESS',
          'TDH.SYS.RD TDCS_BASE_SIZE    lp 0: TDX_SUCCESS',
          'TDH.SYS.RD TDVPS_BASE_SIZE   lp 0: TDX_SUCCESS',
          'TD control pages: 6 TDCS, 1 TDVPR + 5 TDCX',
          'TDH.SYS.CONFIG               lp 0: TDX_SUCCESS',
          'TDH.SYS.KEY.CONFIG           lp 0: TDX_SUCCESS',
          'TDH.SYS.KEY.CONFIG           lp 2: TDX_SUCCESS',
          'TDH.SYS.TDMR.INIT            lp 0: TDX_SUCCESS x 512, TDMR 0x0 initialized',
          'TDH.SYS.TDMR.INIT            lp 0: TDX_SUCCESS x 1024, TDMR 0x100000000 initialized',
          'TDH.MNG.CREATE               lp 0: TDX_SUCCESS',
          'TDH.MNG.KEY.CONFIG           lp 0: TDX_SUCCESS',
          'TDH.MNG.KEY.CONFIG           lp 2: TDX_SUCCESS',
          'TDH.MNG.ADDCX                lp 0: TDX_SUCCESS x 6',
          'TDH.MNG.INIT                 lp 0: TDX_SUCCESS',
          'TDH.VP.CREATE                lp 0: TDX_SUCCESS',
          'TDH.VP.ADDCX                 lp 0: TDX_SUCCESS x 5',
          'TDH.VP.INIT                  lp 0: TDX_SUCCESS',
          'TDH.MEM.SEPT.ADD L3          lp 0: TDX_SUCCESS',
          'TDH.MEM.SEPT.ADD L2          lp 0: TDX_SUCCESS',
          'TDH.MEM.SEPT.ADD L1          lp 0: TDX_SUCCESS',
          'TDH.MEM.PAGE.ADD             lp 0: TDX_SUCCESS',
          'TDH.MR.EXTEND                lp 0: TDX_SUCCESS x 16',
          'TDH.MR.FINALIZE              lp 0: TDX_SUCCESS',
          'TDH.VP.ENTER                 lp 0: TD exit 77, r10 0x0 r11 0x10001 r12 0x2000',
          'TDH.MEM.PAGE.AUG             lp 0: TDX_SUCCESS',
          'TDH.VP.ENTER                 lp 0: TD exit 77, r10 0x0 r11 0xc r12 0x0',
          'TDH.MEM.RANGE.BLOCK          lp 0: TDX_SUCCESS',
          'TDH.MEM.TRACK                lp 0: TDX_SUCCESS',
          'TDH.MEM.PAGE.REMOVE          lp 0: TDX_SUCCESS',
          'TDH.PHYMEM.PAGE.WBINVD       lp 0: TDX_SUCCESS',
          'TDH.MEM.RANGE.BLOCK          lp 0: TDX_SUCCESS',
          'TDH.MEM.TRACK                lp 0: TDX_SUCCESS',
          'TDH.MEM.PAGE.REMOVE          lp 0: TDX_SUCCESS',
          'TDH.PHYMEM.PAGE.WBINVD       lp 0: TDX_SUCCESS',
          'TDH.MNG.VPFLUSHDONE          lp 0: TDX_FLUSHVP_NOT_DONE',
          'TDH.VP.FLUSH                 lp 0: TDX_SUCCESS',
          'TDH.MNG.VPFLUSHDONE          lp 0: TDX_SUCCESS',
          'TDH.PHYMEM.CACHE.WB          lp 0: TDX_SUCCESS',
          'TDH.PHYMEM.CACHE.WB          lp 2: TDX_SUCCESS',
          'TDH.MNG.KEY.FREEID           lp 0: TDX_SUCCESS',
          'TDH.PHYMEM.PAGE.RECLAIM      lp 0: TDX_SUCCESS x 16',
          'TDH.PHYMEM.PAGE.WBINVD       lp 0: TDX_SUCCESS',
          'TD destroyed: the module holds no TD',
          '',
        ].join('\n'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
