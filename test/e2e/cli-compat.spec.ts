/** End-to-end: `tdxsim compat` as a user runs it. */
import { describe, expect, it } from 'vitest';

import { tdxsim } from '../__test-helpers__/cli.js';

describe('tdxsim compat', () => {
  it('prints the matrix, one line per reason and the assumed-features footnotes; exit 0', () => {
    const r = tdxsim(['compat', '--kernel', 'linux-6.18,ubuntu-6.8-intel', '--module', '1.0,1.5.01,1.5.06,1.5.28']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(
      [
        'kernel            1.0  1.5.01 1.5.06 1.5.28*',
        'linux-6.18        FAIL FAIL   ok     ok',
        'ubuntu-6.8-intel  FAIL ok     ok     ok',
      ].join('\n'),
    );
    expect(r.stdout).toContain(
      '  linux-6.18 × 1.5.01: linux-6.18 reads MAX_VCPUS_PER_TD (0x9900000100000008) with TDH.SYS.RD, a field TDX module 1.5.01 does not have (TDX_METADATA_FIELD_ID_INCORRECT); with linux-6.18 use TDX module 1.5.06, 1.5.28\n',
    );
    expect(r.stdout).toContain(
      '  ubuntu-6.8-intel × 1.0: ubuntu-6.8-intel reads MAX_TDMRS (0x9100000100000008) with TDH.SYS.RD, a leaf TDX module 1.0 does not have (it answers TDX_SYS_NOT_READY); with ubuntu-6.8-intel use TDX module 1.5.01, 1.5.06, 1.5.28\n',
    );
    expect(r.stdout).toMatch(/\n\* 1\.5\.28: TDX_FEATURES0 unknown .*; the verdicts in this column rest on that assumed value\n$/);
  });

  it('--json gives every cell with its failing SEAMCALL and reason', () => {
    const r = tdxsim(['compat', '--kernel', 'linux-6.18', '--module', '1.0,1.5.06', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { platform: string; cells: Record<string, unknown>[]; reasons: unknown[]; footnotes: unknown[] };
    expect(j.platform).toBe('small-2s');
    expect(j.cells).toHaveLength(2);
    expect(j.cells[0]).toEqual({
      kernel: 'linux-6.18',
      module: '1.0',
      verdict: 'fail',
      initialized: false,
      initializedAt: null,
      kvmTdx: false,
      firstFailingLine: 'virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc000050500000000',
      failingSeamcall: { leaf: 34, leafName: 'TDH.SYS.RD', status: '0xc000050500000000', statusName: 'TDX_SYS_NOT_READY', fieldId: '0x0a00000300000008', fieldName: 'TDX_FEATURES0' },
      reason: 'linux-6.18 reads TDX_FEATURES0 (0x0a00000300000008) with TDH.SYS.RD, a leaf TDX module 1.0 does not have (it answers TDX_SYS_NOT_READY); with linux-6.18 use TDX module 1.5.06',
      featuresAssumed: false,
    });
    expect(j.cells[1]).toMatchObject({ module: '1.5.06', verdict: 'ok', initialized: true, kvmTdx: true, reason: null });
    expect(j.reasons).toEqual([{ reason: j.cells[0]?.['reason'], cells: [{ kernel: 'linux-6.18', module: '1.0' }] }]);
    expect(j.footnotes).toEqual([]);
  });

  it('bad input: exit 2, the closest name, nothing on stdout, no stack trace', () => {
    for (const [args, msg] of [
      [['--kernel', 'linux-6.18,linux-6.19'], 'tdxsim: --kernel: unknown kernel "linux-6.19"'],
      [['--module', '1.5.6'], 'did you mean "1.5.06"?'],
      [['--platform', 'nope'], 'tdxsim: --platform: unknown platform preset "nope"'],
      [['--kernel', 'linux-6.18,'], 'tdxsim: --kernel "linux-6.18,": empty name in the list'],
    ] as const) {
      const r = tdxsim(['compat', ...args]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
