/**
 * Shell quoting for the commands tdxsim prints (replay lines in `run`, `explore` and reports):
 * a command is pasted into a POSIX shell, so every argument that is not plainly safe is put in
 * single quotes, with embedded single quotes written as '\''.
 */

const SAFE = /^[A-Za-z0-9_\-.,:/=@%+]+$/;

/** One argument, quoted for a POSIX shell when needed (the empty string is `""`). */
export function shellQuote(arg: string): string {
  if (arg === '') {
    return '""';
  }
  return SAFE.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A command line from its arguments, each quoted as needed. */
export function shellCommand(args: readonly string[]): string {
  return args.map(shellQuote).join(' ');
}

/** The options that shaped a run, as arguments (`--platform P --kernel K --module M`), in a fixed order. */
export function machineArgs(req: { readonly platform?: string; readonly kernel?: string; readonly module?: string }): string[] {
  return [...(req.platform !== undefined ? ['--platform', req.platform] : []), ...(req.kernel !== undefined ? ['--kernel', req.kernel] : []), ...(req.module !== undefined ? ['--module', req.module] : [])];
}

/**
 * The `tdxsim run` command that replays one finding: the scenario (file or name), the variant
 * when the scenario has several, the machine options, the seed and the path.
 */
export function runReplayCommand(req: { readonly file?: string; readonly scenario?: string; readonly platform?: string; readonly kernel?: string; readonly module?: string }, scenarioName: string, variant: string | undefined, seed: number, path: string): string {
  const src = req.file !== undefined ? [req.file] : ['--scenario', req.scenario ?? scenarioName];
  return shellCommand(['tdxsim', 'run', ...src, ...(variant !== undefined ? ['--variant', variant] : []), ...machineArgs(req), '--seed', String(seed), '--path', path]);
}
