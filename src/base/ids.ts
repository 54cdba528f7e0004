/**
 * Branded identifiers for hardware quantities. A KeyId passed where a Pfn is expected
 * does not compile. Constructors check their argument at the edges.
 */
import { assert } from './assert.js';

/** A physical address (bytes). Exact below 2^53; the architecture caps it at 2^52. */
export type PhysAddr = number & { readonly __brand: 'PhysAddr' };
/** A page frame number (PhysAddr >> 12). */
export type Pfn = number & { readonly __brand: 'Pfn' };
/** An MKTME / TDX KeyID (HKID). KeyID 0 is the shared, unencrypted-by-TME key. */
export type KeyId = number & { readonly __brand: 'KeyId' };
/** A logical CPU (Linux cpu number == TDX LP index in this model). */
export type CpuId = number & { readonly __brand: 'CpuId' };
/** A physical package (socket). */
export type PackageId = number & { readonly __brand: 'PackageId' };
/** A NUMA node. */
export type NodeId = number & { readonly __brand: 'NodeId' };

/** Largest physical address width the TDX module accepts (MAX_PA). */
export const MAX_PA_BITS = 52;
export const PAGE_SIZE = 4096;
export const LINE_SIZE = 64;
export const SZ_1M = 0x100000;
export const SZ_2M = 0x200000;
export const SZ_1G = 0x40000000;

function checkInt(n: number, what: string, max: number): void {
  assert(Number.isSafeInteger(n) && n >= 0 && n <= max, `${what} out of range: ${n}`);
}

/** @returns `n` as a PhysAddr; throws ModelBug unless 0 <= n <= 2^52. */
export function physAddr(n: number): PhysAddr {
  checkInt(n, 'physical address', 2 ** MAX_PA_BITS);
  return n as PhysAddr;
}
/** @returns `n` as a Pfn. */
export function pfn(n: number): Pfn {
  checkInt(n, 'pfn', 2 ** (MAX_PA_BITS - 12));
  return n as Pfn;
}
/** @returns `n` as a KeyId (0..2047; MAX_HKIDS = 2048). */
export function keyId(n: number): KeyId {
  checkInt(n, 'KeyID', 2047);
  return n as KeyId;
}
/** @returns `n` as a CpuId. */
export function cpuId(n: number): CpuId {
  checkInt(n, 'cpu id', 1 << 16);
  return n as CpuId;
}
/** @returns `n` as a PackageId. */
export function packageId(n: number): PackageId {
  checkInt(n, 'package id', 255);
  return n as PackageId;
}
/** @returns `n` as a NodeId. */
export function nodeId(n: number): NodeId {
  checkInt(n, 'node id', 1023);
  return n as NodeId;
}

/** PFN of a physical address. */
export function PFN_DOWN(pa: number): Pfn {
  return Math.floor(pa / PAGE_SIZE) as Pfn;
}
/** Physical address of a PFN. */
export function PFN_PHYS(p: Pfn | number): PhysAddr {
  return (p * PAGE_SIZE) as PhysAddr;
}
/** Round down to a power-of-two alignment (exact for values up to 2^53). */
export function alignDown(v: number, align: number): number {
  return v - (v % align);
}
/** Round up to a power-of-two alignment. */
export function alignUp(v: number, align: number): number {
  const r = v % align;
  return r === 0 ? v : v + (align - r);
}
/** True if `v` is a multiple of `align`. */
export function isAligned(v: number, align: number): boolean {
  return v % align === 0;
}
