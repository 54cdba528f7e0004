/**
 * Deep copy of a model object graph, for snapshots: exploration runs the deterministic prefix
 * of a scenario once and restores the copy before every execution.
 *
 * Class instances keep their prototypes; Maps, Sets, arrays and typed arrays are copied;
 * cycles and sharing are preserved. Functions are shared, not copied, so model state must not
 * hold closures over mutable state: hold an object and call its methods instead (for example a
 * `{ self, fn }` bound handler). A running generator cannot be copied: snapshots are taken at
 * quiescent points only.
 */
import { ModelBug } from './assert.js';

/**
 * Objects that know how to copy themselves cheaply (e.g. a copy-on-write B+ tree) implement a
 * method under this symbol; deepClone calls it instead of walking them.
 */
export const CLONE = Symbol('tdxsim.clone');

/** An object with its own snapshot method. */
export interface SelfCloning {
  [CLONE](memo: Map<unknown, unknown>): unknown;
}

const GeneratorProto = Object.getPrototypeOf(Object.getPrototypeOf((function* () {})())) as object;

/** Deep-copy `root`. `memo` maps originals to copies (pass one to share it across roots). */
export function deepClone<T>(root: T, memo: Map<unknown, unknown> = new Map()): T {
  return cloneValue(root, memo) as T;
}

function cloneValue(v: unknown, memo: Map<unknown, unknown>): unknown {
  if (v === null || typeof v !== 'object') {
    return v;
  }
  const hit = memo.get(v);
  if (hit !== undefined) {
    return hit;
  }
  // Frozen objects are immutable configuration (specs, profiles, metadata tables): share them.
  if (Object.isFrozen(v)) {
    return v;
  }
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto === Array.prototype) {
    const a = v as unknown[];
    const c: unknown[] = new Array(a.length);
    memo.set(v, c);
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      c[i] = x === null || typeof x !== 'object' ? x : cloneValue(x, memo);
    }
    return c;
  }
  if (proto !== Object.prototype) {
    const special = cloneSpecial(v, proto, memo);
    if (special !== undefined) {
      return special;
    }
  }
  return cloneObject(v, proto, memo);
}

/** Maps, Sets, typed arrays, self-cloning objects; undefined for ordinary class instances. */
function cloneSpecial(v: object, proto: object | null, memo: Map<unknown, unknown>): unknown {
  const self = (v as Partial<SelfCloning>)[CLONE];
  if (self !== undefined) {
    const c = self.call(v, memo);
    memo.set(v, c);
    return c;
  }
  if (v instanceof Map) {
    const m = new Map();
    memo.set(v, m);
    for (const [k, x] of v) {
      m.set(cloneValue(k, memo), cloneValue(x, memo));
    }
    return m;
  }
  if (v instanceof Set) {
    const s = new Set();
    memo.set(v, s);
    for (const x of v) {
      s.add(cloneValue(x, memo));
    }
    return s;
  }
  if (ArrayBuffer.isView(v)) {
    const c = (v as unknown as { slice(): unknown }).slice();
    memo.set(v, c);
    return c;
  }
  if (proto !== null && Object.prototype.isPrototypeOf.call(GeneratorProto, v)) {
    throw new ModelBug('cannot snapshot: a program is still running (generator in the object graph)');
  }
  return undefined;
}

/** A plain object or class instance: same prototype, properties copied in order. */
function cloneObject(v: object, proto: object | null, memo: Map<unknown, unknown>): unknown {
  const o = Object.create(proto) as Record<PropertyKey, unknown>;
  memo.set(v, o);
  const src = v as Record<PropertyKey, unknown>;
  const keys = Object.keys(src);
  // Fast path: plain data properties assigned in order keep the copy in V8's fast mode.
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const x = src[key];
    o[key] = x === null || typeof x !== 'object' ? x : cloneValue(x, memo);
  }
  // Model state uses ordinary enumerable properties only (no symbol keys, no ES #private
  // fields, no accessors on instances), so Object.keys sees all of it.
  return o;
}

/** Freeze `v` and everything reachable from it (plain data only); snapshots then share it. */
export function deepFreeze<T>(v: T): T {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) {
    return v;
  }
  if (v instanceof Map || v instanceof Set || ArrayBuffer.isView(v)) {
    return v; // Maps, Sets and typed arrays cannot be made immutable by freezing.
  }
  Object.freeze(v);
  for (const k of Object.keys(v as object)) {
    deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}
