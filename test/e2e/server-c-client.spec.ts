/**
 * examples/seamcall-client.c talks to `tdxsim serve --stdio` from C: compiled with the system C
 * compiler when there is one, skipped with a message otherwise.
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
  console.warn('server-c-client: no C compiler (cc, gcc, clang) found; skipping the C example test');
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
