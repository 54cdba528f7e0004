/**
 * Build dist/ once before the tests that spawn the CLI (`tdxsim serve --stdio`, `tdxsim run`).
 * `npm test` then works on a fresh clone without a separate build step. tsc emits even when
 * it reports type errors; those are reported by `npm run typecheck`, not here.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const r = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    console.warn(`globalSetup: tsc reported errors (dist/ built anyway):\n${(r.stdout ?? '').split('\n').slice(0, 10).join('\n')}`);
  }
  // As `npm run build` does: the CLI entry must be executable for `npx tdxsim`.
  spawnSync(process.execPath, [`${root}scripts/postbuild.mjs`], { cwd: root, stdio: 'inherit' });
}
