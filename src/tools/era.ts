/**
 * What kernel and module a log comes from: the `Linux version` or `BOOT_IMAGE=` line, else the
 * era's strings; the module release from its version line (releasesFor). One inference, used by
 * `diagnose` (to reproduce) and by `plan` (to plan for the log's own kernel and module).
 */
import { kernelProfile } from '../kernel/profiles.js';
import type { KernelProfileName } from '../kernel/profiles.js';
import { DEFAULT_MODULE_PROFILE, isModuleProfileName, releasesFor } from '../module/profiles.js';
import type { ModuleProfileName, VersionEvidence } from '../module/profiles.js';
import { describeStatus } from '../module/status.js';
import type { BootFacts } from './parse/dmesg.js';

/** Ubuntu 6.14 has no profile of its own: why linux-6.16 stands for it. */
const UBUNTU_614_CLOSEST = 'there is no Ubuntu 6.14 profile; modelled by the closest, linux-6.16 (KVM TDX from the series merged in 6.16, holes from the memory list, no CMR lines)';

/** KVM's one-line runtime SEAMCALL failure (Ubuntu 6.8's out-of-tree KVM), without a prefix. */
const RE_KVM_ONELINE = /^SEAMCALL \(0x[0-9a-fA-F]+\) failed: 0x[0-9a-fA-F]+[,\s]+(?:RCX|rcx)\b/;

/**
 * The module release a log's version line names: exact, or the candidates the line cannot tell
 * apart (modelled by the newest of them), with the reason.
 * @see module/profiles.ts releasesFor()
 */
export function moduleFromVersion(v: VersionEvidence): { name: ModuleProfileName; exact: boolean; why: string; candidates: readonly ModuleProfileName[] } {
  const m = releasesFor(v);
  return { name: m.modelled ?? DEFAULT_MODULE_PROFILE, exact: m.exact, why: m.why, candidates: m.candidates };
}

/** The kernel a log comes from, and from which line. */
export interface KernelInference {
  readonly kernel: KernelProfileName;
  readonly why: string;
  /** The host TDX prefix most lines carry ("virt/tdx: ", "tdx: "). */
  readonly prefix: string;
  readonly pamtUnit: string | null;
  /** The `Linux version`/`BOOT_IMAGE=` line, when there is one. */
  readonly line: number | null;
  readonly release: string | null;
}

/** Infer the kernel of one boot of a log. */
export function inferKernel(b: BootFacts): KernelInference {
  const hostLines = b.tdx.filter((x) => x.prefix === 'virt/tdx: ' || x.prefix === 'tdx: ' || x.prefix === 'x86/virt/tdx: ');
  const prefixCount = new Map<string, number>();
  for (const h of hostLines) {
    prefixCount.set(h.prefix, (prefixCount.get(h.prefix) ?? 0) + 1);
  }
  const prefix = [...prefixCount.entries()].sort((a, c) => c[1] - a[1])[0]?.[0] ?? 'virt/tdx: ';
  const pamtLine = b.tdx.find((x) => x.kind === 'pamt-allocated');
  const pamtUnit = pamtLine !== undefined && pamtLine.kind === 'pamt-allocated' ? pamtLine.unit : null;
  const k = inferKernelProfile(b, prefix, pamtUnit);
  return { ...k, prefix, pamtUnit, line: b.kernelVersion?.line ?? null, release: b.kernelVersion?.text ?? null };
}

function inferKernelProfile(b: BootFacts, prefix: string, pamtUnit: string | null): { kernel: KernelProfileName; why: string } {
  const v = b.kernelVersion;
  if (v !== undefined) {
    for (const n of ['tdx-host-v8', 'tdx-host-rfc'] as const) {
      if (v.text.includes(n)) {
        return { kernel: n, why: `"Linux version ${v.text}" (line ${v.line})` };
      }
    }
  }
  const s2026 = b.tdx.some((t) => /TDX-Module initiali[sz]ation failed|TDX-Module initiali[sz]ed|TDH\.SYS\.DISABLE failed|^virt\/tdx: Module version:/.test(t.text));
  if (s2026 && v !== undefined && v.major * 100 + v.minor < 701) {
    return b.kexecFrom !== undefined
      ? { kernel: 'linux-7.2', why: `"Linux version ${v.text}" (line ${v.line}) is a development tree that prints the 2026 strings ("TDX-Module initialized") and re-initialises TDX after kexec (line ${b.kexecFrom.line}): the TDH.SYS.DISABLE series merged in 7.2; closest profile linux-7.2` }
      : { kernel: 'linux-7.1', why: `"Linux version ${v.text}" (line ${v.line}) is a development tree that prints the 2026 strings ("TDX-Module initialized"); closest profile linux-7.1` };
  }
  if (prefix === 'tdx: ' && v !== undefined) {
    const rel = `${v.text} (line ${v.line})`;
    return { kernel: 'tdx-host-v8', why: `the "tdx: " strings of Intel's out-of-tree kernels, here ${rel} (Intel MVP, TD-partitioning or Ubuntu 23.10 intel-opt); closest model profile tdx-host-v8, used for reproduction only` };
  }
  if (prefix === 'tdx: ') {
    const rfc = pamtUnit === 'pages' || b.tdx.some((t) => /TDX private KeyID range|Failed to initialize TDX module|SEAMRR/.test(t.text));
    return rfc
      ? { kernel: 'tdx-host-rfc', why: 'the 2022 RFC strings ("tdx: " prefix, PAMT in pages, "TDX private KeyID range")' }
      : { kernel: 'tdx-host-v8', why: 'the Dec 2022 series strings ("tdx: " prefix, "KBs allocated for PAMT.")' };
  }
  if (v !== undefined && prefix === 'virt/tdx: ') {
    const num = v.major * 100 + v.minor;
    const at = `Linux ${v.text} (line ${v.line}${b.commandLine !== undefined && b.commandLine.text.includes(`vmlinuz-${v.text}`) ? ', BOOT_IMAGE=' : ''})`;
    if (num >= 702) {
      return { kernel: 'linux-7.2', why: `${at}${num > 702 ? ': the newest kernel profile, linux-7.2' : ''}` };
    }
    if (num >= 701) {
      return { kernel: 'linux-7.1', why: at };
    }
    if (num >= 618) {
      return { kernel: 'linux-6.18', why: `${at}${num > 618 ? ' (6.19/7.0 changed nothing known to the TDX host code; closest profile linux-6.18)' : ''}` };
    }
    if (num >= 609 && num < 616 && v.text.includes('intel')) {
      return { kernel: 'linux-6.16', why: `${at}, Canonical's linux-intel ${v.major}.${v.minor}: ${UBUNTU_614_CLOSEST}` };
    }
    if (num >= 616) {
      return { kernel: 'linux-6.16', why: `${at}${num > 616 ? '; closest profile linux-6.16' : ''}` };
    }
    if (num >= 608) {
      return {
        kernel: 'ubuntu-6.8-intel',
        why: `${at}${v.text.includes('intel') ? ', Canonical\'s linux-intel' : ': mainline kernels before 6.16 have no KVM TDX, so a log that initializes the module comes from a distribution kernel; closest profile ubuntu-6.8-intel'}`,
      };
    }
  }
  const v614 = b.tdx.find((t) => t.kind === 'module-version' && /^TDX module \d+\.\d+\.\d+(?:\.\d+)?, build number \d+, build date [0-9a-fA-F]+$/.test(t.text.slice(t.prefix.length)));
  if (v614 !== undefined) {
    return { kernel: 'linux-6.16', why: `the "TDX module X.Y.ZZ.NN, build number N, build date H" line (line ${v614.line}) of Ubuntu's linux-intel 6.14 (25.04): ${UBUNTU_614_CLOSEST}` };
  }
  const oneLine = b.tdx.find((t) => t.kind === 'seamcall-failed' && t.prefix === '' && RE_KVM_ONELINE.test(t.text));
  if (oneLine !== undefined) {
    return { kernel: 'ubuntu-6.8-intel', why: `the one-line "SEAMCALL (0x..) failed: 0x.. RCX .. R11 .." without a prefix (line ${oneLine.line}), which only the out-of-tree KVM of Ubuntu's linux-intel 6.8 prints` };
  }
  if (prefix === 'virt/tdx: ' && b.tdx.some((t) => /^virt\/tdx: TDX module: attributes /.test(t.text))) {
    return { kernel: 'ubuntu-6.8-intel', why: 'the "TDX module: attributes …" line (TDH.SYS.INFO), which only Ubuntu\'s linux-intel 6.8 prints with the "virt/tdx: " prefix' };
  }
  if (b.tdx.some((t) => /TDX-Module initiali[sz]ation failed|TDX-Module initiali[sz]ed|TDX not supported by the host platform/.test(t.text))) {
    return { kernel: 'linux-7.1', why: 'the "TDX-Module initialized" strings of 7.1+ kernels' };
  }
  const firstRd = b.tdx.find((t) => t.kind === 'seamcall-failed' && t.leaf === 34);
  if (firstRd !== undefined) {
    const idx = b.tdx.indexOf(firstRd);
    const regs = b.tdx[idx + 1];
    if (regs !== undefined && regs.kind === 'seamcall-regs' && regs.regs['rdx'] === 0x9100000100000008n) {
      return { kernel: 'ubuntu-6.8-intel', why: 'the first TDH.SYS.RD read MAX_TDMRS (6.8-based kernels read the TDMR fields first)' };
    }
  }
  if (b.tdx.some((t) => t.kind === 'module-version' && /^Module version:/.test(t.text.replace(t.prefix, '')))) {
    return { kernel: 'linux-7.1', why: 'the "Module version:" line of 7.1+ kernels' };
  }
  return { kernel: 'linux-6.18', why: 'the "virt/tdx: " strings of 6.8+ kernels; no version line, so the reference profile linux-6.18' };
}

export function inferModule(b: BootFacts, kernel: KernelProfileName, sc?: { readonly leaf: number; readonly status: bigint; readonly line: number }): { module: ModuleProfileName; why: string } {
  const v = b.tdx.find((t) => t.kind === 'module-version');
  if (v !== undefined && v.kind === 'module-version') {
    const m = moduleFromVersion(v);
    return { module: m.name, why: `module version line (line ${v.line}): ${m.why}` };
  }
  if (sc !== undefined && sc.leaf === 34) {
    const name = describeStatus(sc.status).name;
    if (name === 'TDX_SYS_NOT_READY' || name === 'TDX_OPERAND_INVALID') {
      return { module: '1.0', why: `TDH.SYS.RD unknown to the module (line ${sc.line}): a 1.0 module` };
    }
    if (name === 'TDX_METADATA_FIELD_ID_INCORRECT') {
      return { module: '1.5.01', why: `a metadata field missing from the module (line ${sc.line}): 1.5.01 (the only release without MAX_VCPUS_PER_TD)` };
    }
  }
  const d = kernelProfile(kernel).defaultModule;
  return { module: isModuleProfileName(d) ? d : DEFAULT_MODULE_PROFILE, why: `no version line: the module ${kernel} was paired with in its era` };
}

