/** run's text output on a terminal: findings, a failing verdict and failure lines stand out. */
import { describe, expect, it } from 'vitest';

import { colourWanted, highlightRunText } from '../../../src/cli/highlight.js';

describe('run output colour', () => {
  it('colours findings red and bold, a failing verdict red, a passing one green, failure lines yellow, later kernels bold', () => {
    const text = [
      '[    0.100000] virt/tdx: SEAMCALL (0x21) failed: 0xc000030000000001',
      '[    0.200000] virt/tdx: module initialized',
      '-- kernel 2 (started by the jump):',
      '-- note: kvm.load: -5 (EIO)',
      '-- FINDING [silent-corruption] silent corruption: line 0x1000',
      'verdict: fail (expected: none; found: silent-corruption)',
      'verdict: pass',
    ].join('\n');
    expect(highlightRunText(text).split('\n')).toEqual([
      '\u001b[33m[    0.100000] virt/tdx: SEAMCALL (0x21) failed: 0xc000030000000001\u001b[39m',
      '[    0.200000] virt/tdx: module initialized',
      '\u001b[1m-- kernel 2 (started by the jump):\u001b[22m',
      '-- note: kvm.load: -5 (EIO)',
      '\u001b[31m\u001b[1m-- FINDING [silent-corruption] silent corruption: line 0x1000\u001b[22m\u001b[39m',
      '\u001b[31m\u001b[1mverdict: fail (expected: none; found: silent-corruption)\u001b[22m\u001b[39m',
      '\u001b[32mverdict: pass\u001b[39m',
    ]);
  });

  it('only on a terminal, never with NO_COLOR or TERM=dumb, always with FORCE_COLOR', () => {
    expect(colourWanted(true, {})).toBe(true);
    expect(colourWanted(false, {})).toBe(false);
    expect(colourWanted(true, { NO_COLOR: '' })).toBe(false);
    expect(colourWanted(true, { TERM: 'dumb' })).toBe(false);
    expect(colourWanted(false, { FORCE_COLOR: '1' })).toBe(true);
    expect(colourWanted(true, { FORCE_COLOR: '0', NO_COLOR: '1' })).toBe(false);
  });
});
