/**
 * Copy-on-write containers for snapshot-heavy state. A snapshot (base/clone.ts) of one of these
 * shares its buffers with the original instead of copying them; whichever side writes first
 * copies the buffer it writes. Exploration restores the same snapshot thousands of times and
 * most executions never touch these buffers, so the copies are rarely made.
 * @see Linux mm/memory.c do_wp_page() (copy on the first write to a shared page)
 */
import { CLONE } from './clone.js';

/** A fixed-length table of unsigned 32-bit numbers (0 initially). */
export class CowTable {
  private buf: Uint32Array;
  private shared = false;

  constructor(readonly length: number) {
    this.buf = new Uint32Array(length);
  }

  get(i: number): number {
    return this.buf[i] ?? 0;
  }

  set(i: number, v: number): void {
    if (this.shared) {
      this.buf = this.buf.slice();
      this.shared = false;
    }
    this.buf[i] = v;
  }

  /** Replace the whole content with another table's. */
  copyFrom(other: CowTable): void {
    this.buf = other.buf.slice();
    this.shared = false;
  }

  [CLONE](): CowTable {
    this.shared = true;
    const c = Object.create(CowTable.prototype) as CowTable;
    const w = c as unknown as { length: number; buf: Uint32Array; shared: boolean };
    w.length = this.length;
    w.buf = this.buf;
    w.shared = true;
    return c;
  }
}

/** Sparse fixed-size byte pages keyed by page number; each page is copied on its first write. */
export class CowPages {
  private pages = new Map<number, Uint8Array>();
  /** Pages this store may write in place (not shared with any snapshot). */
  private owned = new Set<number>();

  constructor(readonly pageSize: number) {}

  get size(): number {
    return this.pages.size;
  }

  /** The page for reading, if present (do not write through it). */
  get(page: number): Uint8Array | undefined {
    return this.pages.get(page);
  }

  /** The page for writing, created zeroed or copied from a shared one as needed. */
  writable(page: number): Uint8Array {
    let buf = this.pages.get(page);
    if (buf === undefined) {
      buf = new Uint8Array(this.pageSize);
    } else if (this.owned.has(page)) {
      return buf;
    } else {
      buf = buf.slice();
    }
    this.pages.set(page, buf);
    this.owned.add(page);
    return buf;
  }

  delete(page: number): void {
    this.pages.delete(page);
    this.owned.delete(page);
  }

  keys(): IterableIterator<number> {
    return this.pages.keys();
  }

  [CLONE](): CowPages {
    this.owned.clear();
    const c = Object.create(CowPages.prototype) as CowPages;
    const w = c as unknown as { pageSize: number; pages: Map<number, Uint8Array>; owned: Set<number> };
    w.pageSize = this.pageSize;
    w.pages = new Map(this.pages);
    w.owned = new Set();
    return c;
  }
}

/** A Map whose snapshot shares the entries until either side changes them. */
export class CowMap<K, V> {
  private map = new Map<K, V>();
  private shared = false;

  get size(): number {
    return this.map.size;
  }

  get(k: K): V | undefined {
    return this.map.get(k);
  }

  has(k: K): boolean {
    return this.map.has(k);
  }

  set(k: K, v: V): this {
    this.own().set(k, v);
    return this;
  }

  delete(k: K): boolean {
    return this.map.has(k) && this.own().delete(k);
  }

  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  private own(): Map<K, V> {
    if (this.shared) {
      this.map = new Map(this.map);
      this.shared = false;
    }
    return this.map;
  }

  [CLONE](): CowMap<K, V> {
    this.shared = true;
    const c = Object.create(CowMap.prototype) as CowMap<K, V>;
    const w = c as unknown as { map: Map<K, V>; shared: boolean };
    w.map = this.map;
    w.shared = true;
    return c;
  }
}
