// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layer table of docs/architecture.md: each layer lists the layers it must NOT import.
 * The module and the kernel never import each other.
 */
const LAYERS = {
  base: ['platform', 'sim', 'module', 'kernel', 'machine', 'scenario', 'explore', 'api', 'tools', 'cli', 'server', 'web', 'bench'],
  platform: ['sim', 'module', 'kernel', 'machine', 'scenario', 'explore', 'api', 'tools', 'cli', 'server', 'web', 'bench'],
  // The deterministic runtime (scheduler, choice sources, state table) sits on the platform and
  // below the machine: it drives CPUs, it knows nothing of the module or the kernel.
  sim: ['module', 'kernel', 'machine', 'scenario', 'explore', 'api', 'tools', 'cli', 'server', 'web', 'bench'],
  module: ['sim', 'kernel', 'machine', 'scenario', 'explore', 'api', 'tools', 'cli', 'server', 'web', 'bench'],
  kernel: ['sim', 'module', 'machine', 'scenario', 'explore', 'api', 'tools', 'cli', 'server', 'web', 'bench'],
  machine: ['scenario', 'explore', 'api', 'tools', 'cli', 'server', 'web', 'bench'],
  // Scenarios: the format, the embedded ones, the kernel session, checkers, running one.
  scenario: ['explore', 'api', 'tools', 'cli', 'server', 'web', 'bench'],
  // Search strategies, shrinking, faults, shards.
  explore: ['api', 'tools', 'cli', 'server', 'web', 'bench'],
  // src/api/index.ts, the public entry, also re-exports the tools (see the override below).
  api: ['tools', 'cli', 'server', 'web', 'bench'],
  // Operator tools (plan, diagnose, explain, compat, the catalogues and their log parsers) sit on
  // the library core: they use its errors, input reading and runs.
  tools: ['cli', 'server', 'web', 'bench'],
  cli: ['base', 'platform', 'sim', 'module', 'kernel', 'machine', 'scenario', 'explore', 'tools', 'bench'],
  server: ['base', 'platform', 'sim', 'module', 'kernel', 'machine', 'scenario', 'explore', 'tools', 'cli', 'web', 'bench'],
  web: ['base', 'platform', 'sim', 'module', 'kernel', 'machine', 'scenario', 'explore', 'tools', 'cli', 'server', 'bench'],
  bench: ['cli', 'server', 'web'],
};

const MODEL_LAYERS = ['base', 'platform', 'sim', 'module', 'kernel', 'machine', 'scenario', 'explore'];

const determinismBans = [
  { selector: "MemberExpression[object.name='Math'][property.name='random']", message: 'Model code uses the seeded Prng, never Math.random.' },
  { selector: "MemberExpression[object.name='Date'][property.name='now']", message: 'Model code uses simulated time, never Date.now.' },
  { selector: "NewExpression[callee.name='Date']", message: 'Model code uses simulated time, never new Date.' },
  { selector: "MemberExpression[object.name='performance'][property.name='now']", message: 'Model code uses simulated time.' },
  { selector: "CallExpression[callee.name=/^(setTimeout|setInterval|setImmediate)$/]", message: 'Model code never uses timers.' },
  { selector: "MemberExpression[object.name='process'][property.name='env']", message: 'Model code never reads process.env.' },
  { selector: "MemberExpression[object.name='crypto'][property.name='getRandomValues']", message: 'Model code uses the seeded Prng.' },
];

// Measured on Node 20: a generator closure created per call keeps what it captures (a whole
// explored machine) alive until a full GC, likely through its own initial map in the old
// generation; exploration then spends its time copying dead machines. Model programs are module-level generators or class methods, applied to
// their arguments (pass `(c) => fn(k, c)`, not `function* (c) { ... }`).
const generatorClosureBans = [
  { selector: ':function FunctionExpression[generator=true]', message: 'No generator function created inside a function: use a module-level generator and an arrow that calls it.' },
  { selector: ':function FunctionDeclaration[generator=true]', message: 'No generator function declared inside a function: declare it at module level.' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'examples/**', 'bench-results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    linterOptions: { reportUnusedDisableDirectives: true },
    rules: {
      curly: ['error', 'all'],
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...Object.entries(LAYERS).map(([layer, banned]) => ({
    files: [`src/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: banned.flatMap((b) => [
            { group: [`../${b}/*`, `../../${b}/*`, `../../../${b}/*`, `../${b}`, `../../${b}`], message: `src/${layer} may not import src/${b} (layer table, docs/architecture.md).` },
          ]),
        },
      ],
    },
  })),
  {
    // The public entry: the library core and the operator tools.
    files: ['src/api/index.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['cli', 'server', 'web', 'bench'].map((b) => ({ group: [`../${b}/*`, `../${b}`], message: `src/api/index.ts may not import src/${b}.` })) },
      ],
    },
  },
  ...MODEL_LAYERS.map((layer) => ({
    files: [`src/${layer}/**/*.ts`],
    rules: {
      'no-restricted-syntax': ['error', ...determinismBans, ...generatorClosureBans],
      // No module-level mutable state in the model: everything hangs off an instance.
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval'],
    },
  })),
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/no-explicit-any': 'off', 'require-yield': 'off' },
  },
);
