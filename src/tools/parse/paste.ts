/**
 * Undo what pasting does to a kernel log: the damage people's logs carry when they reach us
 * through an issue tracker, a mail client, a chat or a Markdown page.
 *
 * One line at a time (pure, no state): e-mail quoting at any depth (`> `, `>> `, `> > `),
 * indentation, Markdown list markers and inline code, code fences, shell prompts and the command
 * that was typed, stray characters pasted in front of a timestamp (`mesg[    0.000000] ...`), a
 * CR left by CRLF line ends, a byte-order mark. Timestamps themselves are removed later by
 * `stripLogPrefix()`, which knows every dmesg and journalctl form.
 *
 * @see test/fixtures/corpus/INDEX.md for the real logs each rule comes from.
 */

/** What unpasting found on one line. */
export interface Unpasted {
  /** The line with the paste damage removed (timestamps still on). */
  readonly text: string;
  /** The line is paste furniture, not log: a fence, a prompt with its command, an ellipsis. */
  readonly noise: boolean;
  /** Which kinds of damage were removed (for warnings). */
  readonly damage: readonly PasteDamage[];
}

/** A kind of paste damage. */
export type PasteDamage = 'quote' | 'indent' | 'list' | 'code' | 'fence' | 'prompt' | 'cr' | 'junk';

const RE_QUOTE = /^[ \t]*(?:>[ \t]?)+/;
const RE_FENCE = /^\s*(?:```|~~~)/;
const RE_LIST = /^(?:[-*+•]|\d{1,3}[.)])[ \t]+(?=\S)/;
/**
 * A shell prompt with the command typed after it: `$ dmesg`, `# dmesg`, `❯ sudo dmesg`,
 * `user@host:~$ ...`, `[root@host ~]# ...`, `host% ...`. Kernel messages never start like this.
 */
const RE_PROMPT = /^(?:[$#%❯›»]|\S*@\S*[:~][^\s]*[$#%>]|\[[^\]]*@[^\]]*\][$#]|\(\S+\)\s*\S*[$#]|PS [A-Z]:\\[^>]*>)(?:\s|$)/;
/** Characters pasted in front of a timestamp (`mesg[    0.000000]`). */
const RE_JUNK_BEFORE_TS = /^([^\s[\]]{1,12})(?=\[\s*\d+\.\d+\])/;

/** Remove paste damage from one line. Pure; never throws. */
export function unpaste(raw: string): Unpasted {
  const damage: PasteDamage[] = [];
  let s = raw;
  if (s.startsWith('\uFEFF')) {
    s = s.slice(1);
  }
  if (s.includes('\r')) {
    s = s.replace(/\r+$/, '').replace(/\r/g, '');
    damage.push('cr');
  }
  // Quoting, indentation and list markers nest in any order ("- > [ ...", ">   virt/tdx: ...").
  for (let round = 0; round < 4; round++) {
    const before = s;
    const q = RE_QUOTE.exec(s);
    if (q !== null && q[0].includes('>')) {
      s = s.slice(q[0].length);
      damage.push('quote');
    }
    if (RE_FENCE.test(s)) {
      return { text: '', noise: true, damage: [...damage, 'fence'] };
    }
    const indent = /^[ \t]+/.exec(s);
    if (indent !== null) {
      s = s.slice(indent[0].length);
      damage.push('indent');
    }
    const list = RE_LIST.exec(s);
    if (list !== null && !/^\d/.test(list[0])) {
      s = s.slice(list[0].length);
      damage.push('list');
    } else if (list !== null && /^\d{1,3}[.)][ \t]+(?:\[|<\d|[A-Za-z])/.test(s) && !/^\d+\.\d/.test(s)) {
      s = s.slice(list[0].length);
      damage.push('list');
    }
    if (s === before) {
      break;
    }
  }
  if (s.startsWith('`')) {
    // Inline code: keep what is inside the first code span (a quoted log line in prose).
    const end = s.indexOf('`', 1);
    s = end > 0 ? s.slice(1, end) : s.replace(/^`+/, '');
    damage.push('code');
  } else if (s.endsWith('`') && !s.slice(0, -1).includes('`')) {
    s = s.slice(0, -1);
    damage.push('code');
  }
  if (RE_PROMPT.test(s)) {
    return { text: '', noise: true, damage: [...damage, 'prompt'] };
  }
  if (/^(?:\.{3,}|…)$/.test(s.trim())) {
    return { text: '', noise: true, damage };
  }
  const junk = RE_JUNK_BEFORE_TS.exec(s);
  if (junk !== null) {
    s = s.slice(junk[0].length);
    damage.push('junk');
  }
  return { text: s, noise: false, damage };
}
