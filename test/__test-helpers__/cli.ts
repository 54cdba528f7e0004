/** Spawn the built CLI (test/globalSetup.ts builds dist/ first). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Result of a CLI invocation. */
export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run `tdxsim ...args`. */
export function tdxsim(args: string[], input?: string): CliResult {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), ...args], { cwd: ROOT, encoding: 'utf8', input, maxBuffer: 64 * 2 ** 20 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Write a temporary file and return its path. */
export function tempFile(name: string, content: string | Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'tdxsim-'));
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}
