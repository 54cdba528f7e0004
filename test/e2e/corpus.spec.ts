/**
 * The corpus of real logs (test/fixtures/corpus, provenance in INDEX.md): every log classified,
 * PAMT exact where reproduced, reproductions matching where the model can reproduce, no
 * refusals; and paste damage generated from the same logs never changes the class.
 */
import { readdirSync, readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { diagnose } from '../../src/tools/diagnose.js';
import type { DiagnosisClass } from '../../src/tools/diagnose.js';
import { Prng } from '../../src/base/prng.js';
import { fullRegex, TDX_PRINTKS } from '../../src/tools/parse/printks.js';
import { parseDmesg } from '../../src/tools/parse/dmesg.js';

const DIR = 'test/fixtures/corpus';

/** Expected class per log (INDEX.md, corrected where the log says otherwise; see its notes). */
const EXPECTED: Record<string, DiagnosisClass> = {
  '01': 'version-skew',
  '02': 'not-initialized',
  '03': 'version-skew',
  '04': 'not-enabled-by-bios',
  '05': 'cpu-msr-misconfiguration',
  '06': 'cpu-msr-misconfiguration',
  '07': 'not-initialized',
  '08': 'reserved-areas-exhausted',
  '09': 'success',
  '10': 'not-enabled-by-bios',
  '11': 'runtime-seamcall-failure',
  '12': 'runtime-seamcall-failure',
  '13': 'success',
  '14': 'reserved-areas-exhausted',
  '15': 'kexec-success',
  '16': 'success',
  '17': 'version-skew',
  '18': 'tdx-guest',
  '19': 'module-not-loaded',
  '20': 'no-tdx',
  '21': 'not-enabled-by-bios',
  '22': 'runtime-seamcall-failure',
  '23': 'version-skew',
  '24': 'success',
  '25': 'reserved-areas-exhausted',
  '26': 'success',
  '27': 'tdx-guest',
  '28': 'hibernation',
  '29': 'success',
  '30': 'not-initialized',
  '31': 'success',
  '32': 'success',
  '33': 'success',
  '34': 'tdx-guest',
  '35': 'version-skew',
  '36': 'success',
  '37': 'no-tdx',
};

const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.log'))
  .sort();
const text = (f: string): string => readFileSync(`${DIR}/${f}`, 'utf8');

function classOf(t: string): DiagnosisClass | 'refused' {
  try {
    return diagnose({ text: t, name: 'paste', reproduce: false }).classification.class;
  } catch {
    return 'refused';
  }
}

describe('the corpus of real logs', () => {
  it('every log classified, PAMT exact where reproduced, no refusals', () => {
    expect(files.length).toBe(Object.keys(EXPECTED).length);
    let right = 0;
    let refused = 0;
    let pamtShown = 0;
    let pamtExact = 0;
    let reproduced = 0;
    let matching = 0;
    let explained = 0;
    const bare: string[] = [];
    const wrong: string[] = [];
    for (const f of files) {
      let d;
      try {
        d = diagnose({ file: `${DIR}/${f}` });
      } catch (e) {
        refused++;
        wrong.push(`${f}: refused: ${String(e)}`);
        continue;
      }
      if (d.classification.class === EXPECTED[f.slice(0, 2)]) {
        right++;
      } else {
        wrong.push(`${f}: ${d.classification.class}, expected ${EXPECTED[f.slice(0, 2)]}`);
      }
      const r = d.reproduction;
      if (r.method === 'simulator') {
        reproduced++;
        if (r.matches === true) {
          matching++;
        } else if (r.explained) {
          explained++;
        }
        for (const x of r.diff) {
          if (x.op !== 'same' && x.reason === undefined) {
            bare.push(`${f}: ${x.log ?? x.sim ?? ''}`);
          }
        }
      }
      if (d.story.pamt !== null && d.story.cmrs.length + (r.source !== undefined ? 1 : 0) > 0 && r.method !== 'none') {
        pamtShown++;
        const sim = r.dmesg.find((l) => /allocated for PAMT/.test(l));
        if (sim !== undefined && sim.endsWith(d.story.pamt.line === 0 ? '' : `${d.story.pamt.value} ${d.story.pamt.unit} allocated for PAMT${d.story.pamt.unit === 'KB' ? '' : '.'}`)) {
          pamtExact++;
        }
      }
    }
    console.log(`corpus: ${files.length} logs, class right ${right}/${files.length}, refusals ${refused}, PAMT exact ${pamtExact}/${pamtShown} (logs with a PAMT line and a memory map), reproductions ${reproduced}, matching ${matching}/${reproduced}, every difference explained ${explained}/${reproduced - matching}`);
    // Never a bare DIFFERS: every differing line has its reason.
    expect(bare).toEqual([]);
    expect([reproduced, matching]).toEqual([5, 4]);
    expect(wrong).toEqual([]);
    expect(refused).toBe(0);
    expect(pamtExact).toBe(pamtShown);
  }, 120_000);
});

// ---------------------------------------------------------------- paste damage

type Damage = (lines: string[], prng: Prng) => string[];

const DAMAGES: Record<string, Damage> = {
  indent: (ls) => ls.map((l) => `    ${l}`),
  tabs: (ls) => ls.map((l) => `\t${l}`),
  quote: (ls) => ls.map((l) => `> ${l}`),
  'quote-3': (ls) => ls.map((l) => `> > >${l}`),
  fence: (ls) => ['```', ...ls, '```'],
  'fence-console': (ls) => ['```console', '$ sudo dmesg | grep -i tdx', ...ls, '```'],
  'list-marker': (ls) => ls.map((l) => `- ${l}`),
  crlf: (ls) => ls.map((l) => `${l}\r`),
  prompt: (ls) => ['root@host:~# dmesg | grep -i tdx', ...ls, 'root@host:~# '],
  noise: (ls, prng) => ls.flatMap((l) => (prng.int(3) === 0 ? ['[12345.678901] usb 1-1: new high-speed USB device number 2 using xhci_hcd', l] : [l])),
  'dmesg-T-en': (ls) => ls.map((l) => l.replace(/^\[\s*\d+\.\d+\]/, '[Tue Mar  4 10:12:03 2025]')),
  'dmesg-T-de': (ls) => ls.map((l) => l.replace(/^\[\s*\d+\.\d+\]/, '[Di Mär  4 10:12:03 2025]')),
  'dmesg-T-zh': (ls) => ls.map((l) => l.replace(/^\[\s*\d+\.\d+\]/, '[二 3月  4 10:12:03 2025]')),
  'dmesg-T-fr': (ls) => ls.map((l) => l.replace(/^\[\s*\d+\.\d+\]/, '[mar. mars  4 10:12:03 2025]')),
  'journalctl-k': (ls) => ls.map((l) => l.replace(/^\[\s*\d+\.\d+\] ?/, 'Mar 04 10:12:03 host kernel: ')),
  'journalctl-ja': (ls) => ls.map((l) => l.replace(/^\[\s*\d+\.\d+\] ?/, ' 3月 04 10:12:03 host kernel: ')),
  'journalctl-iso': (ls) => ls.map((l) => l.replace(/^\[\s*\d+\.\d+\] ?/, '2025-03-04T10:12:03+0100 host kernel: ')),
  'short-monotonic': (ls) => ls.map((l) => l.replace(/^(\[\s*\d+\.\d+\]) ?/, '$1 host kernel: ')),
  'no-timestamps': (ls) => ls.map((l) => l.replace(/^\[\s*\d+\.\d+\] ?/, '')),
  'caller-id': (ls) => ls.map((l) => l.replace(/^(\[\s*\d+\.\d+\])/, '$1 [  T1]')),
};

describe('paste damage generated from the corpus', () => {
  const seed = 20261215;
  it(`never changes the class (seed ${seed})`, () => {
    console.log(`paste-damage seed: ${seed}`);
    const changed: string[] = [];
    let runs = 0;
    for (const f of files) {
      const base = classOf(text(f));
      const lines = text(f).split('\n');
      for (const [name, dmg] of Object.entries(DAMAGES)) {
        const prng = new Prng(seed).fork(`${f}/${name}`);
        const c = classOf(dmg(lines, prng).join('\n'));
        runs++;
        if (c !== base) {
          changed.push(`${f} ${name}: ${c} (undamaged: ${base})`);
        }
      }
    }
    console.log(`paste damage: ${runs} damaged logs, ${changed.length} class changes`);
    expect(changed).toEqual([]);
  }, 300_000);

  it(`truncation at every position of the TDX lines: the class holds or the answer says it was cut (seed ${seed})`, () => {
    const bad: string[] = [];
    let runs = 0;
    for (const f of files) {
      const lines = text(f).split('\n');
      const facts = parseDmesg(lines);
      const tdxLines = new Set(facts.boots.flatMap((b) => b.tdx.map((t) => t.line)));
      for (const ln of tdxLines) {
        const before = lines.slice(0, ln - 1);
        const line = lines[ln - 1] ?? '';
        const without = classOf(before.join('\n'));
        const withLine = classOf([...before, line].join('\n'));
        for (let p = 1; p < line.length; p++) {
          const cutText = [...before, line.slice(0, p)].join('\n');
          runs++;
          let d;
          try {
            d = diagnose({ text: cutText, name: 'cut', reproduce: false });
          } catch {
            if (before.length > 0 && without !== 'refused') {
              bad.push(`${f}:${ln}@${p}: refused`);
            }
            continue;
          }
          const c = d.classification.class;
          const said = d.warnings.some((w) => /cut off|ends in the middle/.test(w));
          if (c !== withLine && c !== without && !said) {
            bad.push(`${f}:${ln}@${p}: ${c} (whole line: ${withLine}, without it: ${without})`);
          }
        }
      }
    }
    console.log(`truncation: ${runs} cut logs, ${bad.length} unexplained class changes`);
    expect(bad.slice(0, 20)).toEqual([]);
  }, 600_000);
});

describe('the TDX printk catalogue', () => {
  it.each(TDX_PRINTKS.map((p) => [p.id, p] as const))('%s: its example matches its format and parses to its kind', (_id, p) => {
    expect(fullRegex(p.format).test(p.example)).toBe(true);
    const f = parseDmesg([`[    1.000000] ${p.prefixes[0] ?? ''}${p.example}`]);
    const t = f.boots.flatMap((b) => b.tdx)[0];
    expect(t?.kind ?? 'none').toBe(p.kind === 'other' ? (t?.kind ?? 'none') : p.kind);
    expect(p.source.length).toBeGreaterThan(0);
  });
});
