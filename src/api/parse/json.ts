/**
 * JSON with error places: JSON.parse's messages differ between Node versions and often carry
 * no position, so on failure a small scanner finds the offset of the first syntax error and
 * reports it as line and column.
 */

/** Offset of the first JSON syntax error in `text`, or undefined if the text is valid JSON. */
export function jsonErrorOffset(text: string): { offset: number; expected: string } | undefined {
  let i = 0;
  const n = text.length;
  const ws = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) {
      i++;
    }
  };
  type Err = { offset: number; expected: string };
  const fail = (expected: string): Err => ({ offset: i, expected });
  const str = (): Err | undefined => {
    if (text[i] !== '"') {
      return fail('a string');
    }
    i++;
    while (i < n && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) {
        return fail('a closing quote (control character in string)');
      }
      if (text[i] === '\\') {
        i++;
        if (i < n && text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) {
            return fail('four hex digits after \\u');
          }
          i += 4;
        } else if (i >= n || !'"\\/bfnrt'.includes(text[i]!)) {
          return fail('a valid escape');
        }
      }
      i++;
    }
    if (i >= n) {
      return fail('a closing quote');
    }
    i++;
    return undefined;
  };
  /** An object or array from its opening bracket: items separated by ",", then `close`. */
  const items = (close: '}' | ']', item: () => Err | undefined): Err | undefined => {
    i++;
    ws();
    if (text[i] === close) {
      i++;
      return undefined;
    }
    for (;;) {
      const e = item();
      if (e !== undefined) {
        return e;
      }
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === close) {
        i++;
        return undefined;
      }
      return fail(`"," or "${close}"`);
    }
  };
  const value = (depth: number): Err | undefined => {
    if (depth > 512) {
      return fail('less nesting');
    }
    ws();
    if (i >= n) {
      return fail('a value');
    }
    const c = text[i]!;
    if (c === '{') {
      return items('}', () => {
        ws();
        const e = str();
        if (e !== undefined) {
          return e;
        }
        ws();
        if (text[i] !== ':') {
          return fail('":"');
        }
        i++;
        return value(depth + 1);
      });
    }
    if (c === '[') {
      return items(']', () => value(depth + 1));
    }
    if (c === '"') {
      return str();
    }
    // Sticky, on the whole text: a number of any length is scanned whole (a slice would cut it).
    const re = /(?:true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)/y;
    re.lastIndex = i;
    const lit = re.exec(text);
    if (lit === null || lit[0] === '') {
      return fail('a value');
    }
    i += lit[0].length;
    return undefined;
  };
  const e = value(0);
  if (e !== undefined) {
    return e;
  }
  ws();
  return i < n ? { offset: i, expected: 'the end of the input' } : undefined;
}

/** "line L, column C" of an offset. */
export function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const col = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${col}`;
}

/** Parse JSON; on failure return the place and what was expected there. */
export function parseJsonWithPlace(text: string): { ok: true; value: unknown } | { ok: false; place: string; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const e = jsonErrorOffset(text);
    if (e === undefined) {
      return { ok: false, place: 'unknown place', message: (err as Error).message };
    }
    const found = e.offset >= text.length ? 'the end of the input' : JSON.stringify(text.slice(e.offset, e.offset + 12));
    return { ok: false, place: lineCol(text, e.offset), message: `expected ${e.expected}, found ${found}` };
  }
}
