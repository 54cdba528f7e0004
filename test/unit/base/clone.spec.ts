import { describe, expect, it } from 'vitest';

import { deepClone, shareInSnapshots, Template } from '../../../src/base/clone.js';
import { CowPages, CowTable } from '../../../src/base/cow.js';
import { Platform } from '../../../src/platform/Platform.js';
import { preset } from '../../../src/platform/presets.js';

describe('deepClone', () => {
  it('copies a platform: same behaviour, independent state', () => {
    const p = new Platform(preset('small-2s')!);
    p.storeFill(p.cpu(0), 0x1000, 128, 9, 17, 'a');
    const q = deepClone(p);
    expect(q).not.toBe(p);
    expect(q.cpu(0).cache.dirtyByKey()).toEqual(new Map([[17, 2]]));
    q.wbinvdNow(q.cpu(0));
    expect(q.lineAt(0x1000).key).toBe(17);
    expect(p.lineAt(0x1000).key).toBe(0);
    expect(p.cpu(0).cache.lineCount).toBe(2);
    expect(q.current).toBe(q.cpus[0]);
  });
  it('refuses a running generator', () => {
    const g = (function* () {
      yield 1;
    })();
    expect(() => deepClone({ g })).toThrow('cannot snapshot: a program is still running');
  });
});

describe('Template', () => {
  it('instantiates independent copies that keep prototypes, sharing and cycles', () => {
    class Node2 {
      next: Node2 | undefined;
      constructor(readonly name: string) {}
      label(): string {
        return `node ${this.name}`;
      }
    }
    const a = new Node2('a');
    const b = new Node2('b');
    a.next = b;
    b.next = a;
    const frozen = Object.freeze({ k: 1 });
    const root = { a, b, list: [a, b, 7], map: new Map<unknown, unknown>([[a, 'x'], ['y', b]]), set: new Set([b]), bytes: new Uint8Array([1, 2, 3]), frozen };
    const t = new Template(root);
    expect(t.objects).toBe(7); // root, a, b, list, map, set, bytes (frozen is shared)
    const c1 = t.instantiate();
    const c2 = t.instantiate();
    expect(c1).not.toBe(c2);
    expect(c1.a).toBeInstanceOf(Node2);
    expect(c1.a.label()).toBe('node a');
    expect(c1.a.next).toBe(c1.b);
    expect(c1.b.next).toBe(c1.a);
    expect(c1.list).toEqual([c1.a, c1.b, 7]);
    expect(c1.list[0]).toBe(c1.a);
    expect(c1.map.get(c1.a)).toBe('x');
    expect(c1.map.get('y')).toBe(c1.b);
    expect(c1.set.has(c1.b)).toBe(true);
    expect(c1.frozen).toBe(frozen);
    c1.bytes[0] = 99;
    c1.a.next = undefined;
    expect(c2.bytes[0]).toBe(1);
    expect(c2.a.next).toBe(c2.b);
    // The template copied the root when it was built: later changes to the original stay out.
    root.bytes[1] = 42;
    a.next = undefined;
    const c3 = t.instantiate();
    expect(c3.bytes[1]).toBe(2);
    expect(c3.a.next).toBe(c3.b);
  });

  it('shares objects marked with shareInSnapshots()', () => {
    const table = shareInSnapshots(new Set([1, 2, 3]));
    const t = new Template({ table, mine: new Set([4]) });
    const c = t.instantiate();
    expect(c.table).toBe(table);
    expect(deepClone({ table }).table).toBe(table);
    expect(c.mine).not.toBe(t.instantiate().mine);
  });

  it('restores a platform: copies behave like the original and stay independent', () => {
    const p = new Platform(preset('small-2s')!);
    p.storeFill(p.cpu(0), 0x1000, 128, 9, 17, 'a');
    p.store(p.cpu(1), 0x3000, new Uint8Array(64).fill(5), 0, 'b');
    p.wbinvdNow(p.cpu(1));
    const t = new Template(p);
    const q = t.instantiate();
    q.wbinvdNow(q.cpu(0));
    expect(q.lineAt(0x1000).key).toBe(17);
    expect(q.load(q.cpu(0), 0x3000, 4, 0)).toEqual({ ok: true, bytes: new Uint8Array([5, 5, 5, 5]) });
    q.store(q.cpu(0), 0x3000, new Uint8Array(64).fill(6), 0, 'c');
    q.wbinvdNow(q.cpu(0));
    const r = t.instantiate();
    expect(r.lineAt(0x1000).key).toBe(0);
    expect(r.cpu(0).cache.dirtyByKey()).toEqual(new Map([[17, 2]]));
    expect(r.load(r.cpu(0), 0x3000, 4, 0)).toEqual({ ok: true, bytes: new Uint8Array([5, 5, 5, 5]) });
    expect(q.load(q.cpu(0), 0x3000, 4, 0)).toEqual({ ok: true, bytes: new Uint8Array([6, 6, 6, 6]) });
  });

  it('refuses a running generator', () => {
    const g = (function* () {
      yield 1;
    })();
    expect(() => new Template({ g })).toThrow('cannot snapshot: a program is still running');
  });
});

describe('copy-on-write containers', () => {
  it('CowTable: a snapshot shares the buffer until either side writes', () => {
    const t = new CowTable(8);
    t.set(3, 7);
    const c = deepClone(t);
    expect(c.get(3)).toBe(7);
    c.set(3, 9);
    t.set(4, 1);
    expect([t.get(3), t.get(4), c.get(3), c.get(4)]).toEqual([7, 1, 9, 0]);
    const d = new CowTable(8);
    d.copyFrom(c);
    c.set(3, 0);
    expect(d.get(3)).toBe(9);
  });

  it('CowPages: pages are copied on their first write after a snapshot', () => {
    const p = new CowPages(16);
    p.writable(2)[0] = 1;
    const c = deepClone(p);
    expect(c.get(2)?.[0]).toBe(1);
    c.writable(2)[0] = 2;
    p.writable(2)[1] = 3;
    expect([p.get(2)?.[0], p.get(2)?.[1], c.get(2)?.[0], c.get(2)?.[1]]).toEqual([1, 3, 2, 0]);
    c.delete(2);
    expect([c.size, p.size]).toEqual([0, 1]);
    expect(c.get(5)).toBeUndefined();
    expect([...p.keys()]).toEqual([2]);
  });
});
