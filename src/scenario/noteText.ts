/**
 * How a run's notes read in the text output of `run` (and the report): the notes themselves
 * (RunResult.notes, `run --json`) keep the raw values the kernel returned; the text names them.
 * A return code reads `-5 (EIO)` or `0 (success)`; a TDX status reads through the module's
 * status table, `0x000000000000004d (TDX_SUCCESS, exit reason 77 (TDCALL))`.
 * @see linux include/uapi/asm-generic/errno-base.h, errno.h (the names, through kernel/errno.ts)
 */
import { errname } from '../kernel/errno.js';
import { leafStatusDisplay } from '../module/status.js';

/** A kernel return code with its errno name: "0 (success)", "-22 (EINVAL)"; unnamed codes stay bare. */
export function returnCodeText(ret: number): string {
  if (ret === 0) {
    return '0 (success)';
  }
  const name = errname(ret);
  return name.startsWith('-E') ? `${ret} (${name.slice(1)})` : String(ret);
}

/** A TDH.VP.ENTER status (leaf 0) with its name: a TD exit names its class and exit reason. */
function vpEnterText(hexStatus: string): string {
  return `${hexStatus} (${leafStatusDisplay(0, BigInt(hexStatus))})`;
}

/**
 * One note for the text output: the trailing return code of a step (`kvm.load: -5`), each
 * caller's code of `tdx.enable: cpu0=0 cpu1=-5`, and a TDH.VP.ENTER status, named; everything
 * else unchanged.
 * @param note a note as RunResult.notes holds it
 * @returns the note with its codes named
 */
export function noteText(note: string): string {
  if (note.startsWith('tdx.enable: ')) {
    return note.replace(/\b(cpu\d+)=(-?\d+)\b/g, (_m, cpu: string, v: string) => `${cpu}=${returnCodeText(Number(v))}`);
  }
  const enter = /^(td\.run (?:vCPU \d+ )?on CPU \d+: TDH\.VP\.ENTER )(0x[0-9a-f]+)$/.exec(note);
  if (enter !== null) {
    return `${enter[1] ?? ''}${vpEnterText(enter[2] ?? '0x0')}`;
  }
  const ret = /^((?:fault: )?(?:kvm\.load|td\.create|td\.destroy|td\.release [^:]+|cpu\.offline \d+|cpu\.online \d+|mem\.online [^:]+)): (-?\d+)$/.exec(note);
  if (ret !== null) {
    return `${ret[1] ?? ''}: ${returnCodeText(Number(ret[2]))}`;
  }
  return note;
}
