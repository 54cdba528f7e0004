// After tsc: make the CLI entry executable. tsc writes files without the execute bit, and
// `npx tdxsim` (the README's set-up on a fresh clone) runs the bin file directly.
import { chmodSync } from 'node:fs';

chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);
