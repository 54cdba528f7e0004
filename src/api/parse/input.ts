/**
 * Reading operator inputs (dmesg, /proc/iomem, platform JSON) safely: size limit, binary
 * detection, line splitting. Every problem is a TdxsimError whose message names the input, the
 * place (line or byte offset) and the problem; nothing is half-read.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

import { TdxsimError } from '../errors.js';

/** Largest text input accepted (a dmesg ring is at most a few MiB; journal dumps are bigger). */
export const MAX_TEXT_INPUT_BYTES = 64 * 2 ** 20;
/** Lines longer than this are not log lines; they are treated as noise. */
export const MAX_LINE_CHARS = 4096;

/** A text input split into lines. */
export interface TextInput {
  /** How the input is named in messages (a path, or "<string>"). */
  readonly name: string;
  readonly text: string;
  /** Lines without their terminators (CR LF and LF both accepted). */
  readonly lines: readonly string[];
  /** True if the text does not end with a newline (the last line may be cut off). */
  readonly endsMidLine: boolean;
}

/** A file-system error code in words ("no such file or directory", "is a directory", ...). */
export function fsProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'ENOTDIR':
      return 'a component of the path is not a directory';
    case 'EISDIR':
      return 'is a directory, expected a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EFBIG':
      return 'file too large (the file-size limit was reached)';
    case 'EROFS':
      return 'read-only file system';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'ENAMETOOLONG':
      return 'file name too long';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files';
    case 'EIO':
      return 'input/output error';
    default:
      return code ?? String(e);
  }
}

/**
 * Read at most `maxBytes` from a file descriptor, in chunks: devices (/dev/zero), FIFOs, pipes
 * and /proc files report a size of 0, so the bound is enforced while reading, stopping at
 * `maxBytes` + 1 byte.
 */
function readFdBounded(fd: number, name: string, what: string, maxBytes: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        continue;
      }
      if (code === 'EOF') {
        break;
      }
      throw new TdxsimError('TDXSIM_FILE', `cannot read ${what} ${name}: ${fsProblem(e)}`);
    }
    if (n === 0) {
      break;
    }
    total += n;
    if (total > maxBytes) {
      throw new TdxsimError('TDXSIM_INPUT_TOO_LARGE', `${what} ${name} is too large (more than ${maxBytes} bytes)`);
    }
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

/** Read all of stdin, refusing more than `maxBytes`. */
export function readStdinBounded(what: string, maxBytes: number = MAX_TEXT_INPUT_BYTES): Buffer {
  return readFdBounded(0, 'stdin', what, maxBytes);
}

/**
 * Read a file as bytes, with errors that name it and say what is wrong. `-` is stdin. Regular
 * files are checked against the limit before reading; everything else (devices, FIFOs, /proc)
 * is read in bounded chunks.
 */
export function readInputFile(file: string, what: string, maxBytes: number = MAX_TEXT_INPUT_BYTES): Buffer {
  if (file === '-') {
    return readStdinBounded(what, maxBytes);
  }
  let fd: number;
  try {
    const st = statSync(file);
    if (st.isDirectory()) {
      throw new TdxsimError('TDXSIM_FILE', `${what} ${file}: is a directory, expected a file`);
    }
    if (st.isFile() && st.size > maxBytes) {
      throw new TdxsimError('TDXSIM_INPUT_TOO_LARGE', `${what} ${file} is too large (${st.size} bytes; limit ${maxBytes} bytes)`);
    }
    fd = openSync(file, 'r');
  } catch (e) {
    if (e instanceof TdxsimError) {
      throw e;
    }
    throw new TdxsimError('TDXSIM_FILE', `cannot read ${what} ${file}: ${fsProblem(e)}`);
  }
  try {
    return readFdBounded(fd, file, what, maxBytes);
  } finally {
    closeSync(fd);
  }
}

function lineOfOffset(buf: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < buf.length; i++) {
    if (buf[i] === 0x0a) {
      line++;
    }
  }
  return line;
}

/**
 * Decode bytes as a text log, refusing binary data: any NUL byte, or more than 1% of bytes that
 * are neither printable, whitespace, ESC nor part of valid UTF-8.
 */
export function decodeText(buf: Uint8Array, name: string, what: string): string {
  if (buf.length === 0) {
    throw new TdxsimError('TDXSIM_EMPTY_INPUT', `${what} ${name} is empty`);
  }
  const nul = buf.indexOf(0);
  if (nul >= 0) {
    throw new TdxsimError('TDXSIM_BINARY_INPUT', `${what} ${name}: binary data (NUL byte at offset ${nul}, line ${lineOfOffset(buf, nul)}); expected text`);
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(buf);
  let bad = 0;
  let firstBad = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const isBad = c === 0xfffd || (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x1b && c !== 0x0c) || c === 0x7f;
    if (isBad) {
      bad++;
      if (firstBad < 0) {
        firstBad = i;
      }
    }
  }
  if (bad > 0 && bad * 100 > text.length) {
    const line = text.slice(0, firstBad).split('\n').length;
    throw new TdxsimError('TDXSIM_BINARY_INPUT', `${what} ${name}: binary data (${bad} non-text characters, the first on line ${line}); expected text`);
  }
  return text;
}

/** Split text into lines (LF or CRLF). */
export function splitLines(text: string, name: string): TextInput {
  const endsMidLine = !text.endsWith('\n');
  const raw = text.split('\n');
  if (!endsMidLine) {
    raw.pop();
  }
  const lines = raw.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  return { name, text, lines, endsMidLine };
}

/** Read a text file (size-limited, binary refused) and split it into lines. */
export function readTextInput(file: string, what: string): TextInput {
  const buf = readInputFile(file, what);
  return splitLines(decodeText(buf, file, what), file);
}

/** A string given directly (library use) as a TextInput; the same checks apply. */
export function textInput(text: string, name = '<string>', what = 'input'): TextInput {
  if (text.length > MAX_TEXT_INPUT_BYTES) {
    throw new TdxsimError('TDXSIM_INPUT_TOO_LARGE', `${what} ${name} is too large (${text.length} characters; limit ${MAX_TEXT_INPUT_BYTES})`);
  }
  return splitLines(decodeText(Buffer.from(text, 'utf8'), name, what), name);
}
