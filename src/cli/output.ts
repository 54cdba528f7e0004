/**
 * Writing an output file: `-` is stdout; a regular file (or a new one) is written atomically,
 * to a temporary file in the same directory that is then renamed over the target, so a failed
 * write (disk full, file-size limit) leaves the previous file intact; a device or FIFO is
 * written in place. Every failure is a TdxsimError (exit 2) naming the path and the problem.
 */
import { closeSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { TdxsimError } from '../api/errors.js';
import { fsProblem } from '../api/parse/input.js';

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) {
    off += writeSync(fd, data, off, data.length - off);
  }
}

function fail(path: string, e: unknown): TdxsimError {
  const code = (e as NodeJS.ErrnoException).code;
  const problem = code === 'ENOENT' ? `no such directory ${dirname(path)}` : fsProblem(e);
  return new TdxsimError('TDXSIM_FILE', `cannot write ${path}: ${problem}`);
}

/** Write `content` to `path` (`-`: stdout); returns the number of bytes written. */
export function writeOutput(path: string, content: string): number {
  const data = Buffer.from(content, 'utf8');
  if (path === '-') {
    writeAll(1, data);
    return data.length;
  }
  let existing: ReturnType<typeof statSync> | undefined;
  try {
    existing = statSync(path);
  } catch {
    existing = undefined;
  }
  if (existing?.isDirectory() === true) {
    throw new TdxsimError('TDXSIM_FILE', `cannot write ${path}: is a directory, expected a file name`);
  }
  if (existing !== undefined && !existing.isFile()) {
    // A device or FIFO: renaming over it would replace the node itself.
    let fd: number | undefined;
    try {
      fd = openSync(path, 'w');
      writeAll(fd, data);
    } catch (e) {
      throw fail(path, e);
    } finally {
      if (fd !== undefined) {
        closeSync(fd);
      }
    }
    return data.length;
  }
  const tmp = join(dirname(path), `.${basename(path)}.tdxsim-${process.pid}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w', existing?.mode ?? 0o666);
    writeAll(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) {
      closeSync(fd);
    }
    try {
      unlinkSync(tmp);
    } catch {
      // The temporary file was never created.
    }
    throw fail(path, e);
  }
  return data.length;
}
