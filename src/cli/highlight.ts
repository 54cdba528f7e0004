/**
 * Colour for `run`'s text output on a terminal: findings and a failing verdict in red, dmesg
 * lines that report a failure in yellow, the header of each later kernel in bold, so that the
 * one line that matters in a long log stands out. Off when stdout is not a terminal, when
 * NO_COLOR is set (any value, https://no-color.org) or TERM is "dumb"; FORCE_COLOR (not "0")
 * turns it on anywhere.
 */

/** SGR open and close codes (ECMA-48), as util.styleText writes them. */
const SGR = { red: [31, 39], green: [32, 39], yellow: [33, 39], bold: [1, 22] } as const;

/** Wrap `text` in the given styles, outermost first (whether to colour is decided by the caller). */
function styleText(styles: keyof typeof SGR | readonly (keyof typeof SGR)[], text: string): string {
  const list = typeof styles === 'string' ? [styles] : styles;
  const open = list.map((s) => `\u001b[${SGR[s][0]}m`).join('');
  const close = [...list].reverse().map((s) => `\u001b[${SGR[s][1]}m`).join('');
  return `${open}${text}${close}`;
}

/** Whether to colour output written to a stream with this TTY flag under this environment. */
export function colourWanted(isTty: boolean, env: NodeJS.ProcessEnv): boolean {
  const force = env['FORCE_COLOR'];
  if (force !== undefined && force !== '0') {
    return true;
  }
  return isTty && env['NO_COLOR'] === undefined && env['TERM'] !== 'dumb';
}

/** A dmesg line that reports a failure (SEAMCALL or initialization errors, KVM's lines). */
const FAILURE = /\bfailed\b|\berror\b|\bTDX_BUG_ON\b/i;

/** Colour the lines of `run`'s text output (see the file comment). */
export function highlightRunText(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      if (line.startsWith('-- FINDING')) {
        return styleText(['red', 'bold'], line);
      }
      if (line.startsWith('verdict: ')) {
        return styleText(line.startsWith('verdict: pass') ? 'green' : ['red', 'bold'], line);
      }
      if (/^-- kernel \d+ /.test(line)) {
        return styleText('bold', line);
      }
      if (!line.startsWith('-- ') && FAILURE.test(line)) {
        return styleText('yellow', line);
      }
      return line;
    })
    .join('\n');
}
