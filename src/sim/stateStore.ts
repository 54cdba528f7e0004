/**
 * Visited-state stores of stateful search. Only fingerprints are kept, never states: a 52-bit
 * hash of the fingerprint string in a hash set (exact up to hash collisions, about 50 bytes per
 * state in V8), or a bit-state table (Holzmann's supertrace: two bits per state in a fixed
 * bitmap; a collision may wrongly prune a state, so a bit-state search is a partial search,
 * not a proof). The adaptive store starts exact and turns itself into a bit-state table when
 * it would outgrow its memory limit, carrying every state it holds over.
 * @see G. J. Holzmann, "An analysis of bitstate hashing" (1998); SPIN -DBITSTATE
 */
import { fnv1a32 } from '../base/prng.js';

/** A set of visited fingerprints. */
export interface StateStore {
  /** Record a state. @returns false if it was (probably) recorded before */
  add(fingerprint: string): boolean;
  /** Record a state by its key (`stateKey(fingerprint)`). @returns false if it was (probably) recorded before */
  addKey(key: number): boolean;
  /** States recorded. */
  readonly size: number;
  /** Approximate bytes used. */
  readonly bytes: number;
  /** 'exact' (hash set) or 'bitstate' (may wrongly prune on collisions). */
  readonly kind: 'exact' | 'bitstate';
}

/** The 52-bit key of a fingerprint: two independent 32-bit hashes, 32 + 20 bits of them. */
export function stateKey(fingerprint: string): number {
  return fnv1a32(fingerprint) * 0x100000 + (fnv1a32(fingerprint, 0x9747b28c) & 0xfffff);
}

/** Bytes per entry of a V8 Set of numbers (slots at load factor 1/2, chains, heap numbers). */
const SET_ENTRY_BYTES = 52;

/** Exact store: a set of 52-bit keys. */
export class HashSetStore implements StateStore {
  readonly kind = 'exact';
  readonly keys = new Set<number>();

  add(fingerprint: string): boolean {
    return this.addKey(stateKey(fingerprint));
  }

  /** Record a key. @returns false if present */
  addKey(key: number): boolean {
    if (this.keys.has(key)) {
      return false;
    }
    this.keys.add(key);
    return true;
  }

  get size(): number {
    return this.keys.size;
  }

  get bytes(): number {
    return this.keys.size * SET_ENTRY_BYTES;
  }
}

/** Bit-state store: two bits per state in a bitmap. */
export class BitStateStore implements StateStore {
  readonly kind = 'bitstate';
  private readonly bits: Uint8Array;
  private readonly mask: number;
  private count = 0;

  /** @param bytes bitmap size, rounded down to a power of two (1 KiB to 1 GiB) */
  constructor(bytes: number) {
    let n = 1024;
    while (n * 2 <= bytes && n < 2 ** 30) {
      n *= 2;
    }
    this.bits = new Uint8Array(n);
    this.mask = n * 8 - 1;
  }

  add(fingerprint: string): boolean {
    return this.addKey(stateKey(fingerprint));
  }

  /** Record a key. @returns false if both its bits were set */
  addKey(key: number): boolean {
    const hi = Math.floor(key / 0x100000);
    const i = hi & this.mask;
    const j = (Math.imul(hi ^ (key % 0x100000), 0x9e3779b1) >>> 0) & this.mask;
    const bi = this.bits[i >>> 3] as number;
    const bj = this.bits[j >>> 3] as number;
    if ((bi & (1 << (i & 7))) !== 0 && (bj & (1 << (j & 7))) !== 0) {
      return false;
    }
    this.bits[i >>> 3] = bi | (1 << (i & 7));
    this.bits[j >>> 3] = (this.bits[j >>> 3] as number) | (1 << (j & 7));
    this.count++;
    return true;
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.bits.length;
  }
}

/** Exact until `limitBytes`, then a bit-state table of `limitBytes` holding the same states. */
export class AdaptiveStore implements StateStore {
  private exact: HashSetStore | undefined = new HashSetStore();
  private bitstate: BitStateStore | undefined;

  constructor(private readonly limitBytes: number) {}

  add(fingerprint: string): boolean {
    return this.addKey(stateKey(fingerprint));
  }

  addKey(key: number): boolean {
    if (this.exact !== undefined) {
      const fresh = this.exact.addKey(key);
      if (this.exact.bytes > this.limitBytes) {
        const b = new BitStateStore(this.limitBytes);
        for (const k of this.exact.keys) {
          b.addKey(k);
        }
        this.bitstate = b;
        this.exact = undefined;
      }
      return fresh;
    }
    return (this.bitstate as BitStateStore).addKey(key);
  }

  get size(): number {
    return this.exact?.size ?? this.bitstate?.size ?? 0;
  }

  get bytes(): number {
    return this.exact?.bytes ?? this.bitstate?.bytes ?? 0;
  }

  get kind(): 'exact' | 'bitstate' {
    return this.exact !== undefined ? 'exact' : 'bitstate';
  }
}
