// After tsc: make the CLI entry executable. tsc writes files without the execute bit, and
// `npx tdxsim` (the README's set-up on a fresh clone) runs the bin file directly.
// Then write the published JSON Schemas (schema/*.schema.json) from the zod definitions, so
// they never drift from what the CLI accepts (test/unit/scenario/schema.spec.ts checks it).
import { chmodSync, writeFileSync } from 'node:fs';

chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);

const api = await import(new URL('../dist/api/index.js', import.meta.url).href);
writeFileSync(new URL('../schema/platform.schema.json', import.meta.url), `${JSON.stringify(api.platformJsonSchema(), null, 2)}\n`);
writeFileSync(new URL('../schema/scenario.schema.json', import.meta.url), `${JSON.stringify(api.scenarioJsonSchema(), null, 2)}\n`);
