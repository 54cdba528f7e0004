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

/** An object with its own snapshot method (its copy must share nothing mutable with it). */
export interface SelfCloning {
  [CLONE](): unknown;
}

/** Objects that are never mutated once built, though freezing cannot say so (Maps, Sets). */
const SHARED = new WeakSet<object>();

/**
 * Mark `v` as never mutated from now on: snapshots share it instead of copying it. For Maps and
 * Sets that are built once and then only read (freezing does not protect their entries).
 */
export function shareInSnapshots<T extends object>(v: T): T {
  SHARED.add(v);
  return v;
}

/** Shared by snapshots as it is: frozen, or marked with shareInSnapshots(). */
function isShared(v: object): boolean {
  return Object.isFrozen(v) || SHARED.has(v);
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
  if (isShared(v)) {
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
    const c = self.call(v);
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

const enum Kind {
  Object,
  Array,
  Map,
  Set,
  Typed,
  Self,
}

/**
 * How to rebuild one object of a template: its kind and prototype, and for each slot (property,
 * element, Map key/value, Set member) either a constant or the index of another object.
 */
interface Recipe {
  readonly kind: Kind;
  readonly proto: object | null;
  /** Object property names (Kind.Object only). */
  readonly keys: readonly string[];
  /** Slot values that are shared as they are (primitives, functions, frozen objects). */
  readonly consts: readonly unknown[];
  /** Per slot: index of the object to put there, or -1 for the constant. */
  readonly refs: Int32Array;
  /** Typed arrays and self-cloning objects: the private original copied each time. */
  readonly source: unknown;
}

/**
 * A compiled snapshot: the object graph reachable from a root, flattened once into recipes so
 * that every `instantiate()` builds an independent copy without walking, hashing or inspecting
 * the original again. The template keeps a private deep copy of the root, so later changes to
 * the original do not leak into it.
 *
 * Exploration instantiates the same snapshot thousands of times; compared with `deepClone` this
 * drops the identity map, the prototype and frozenness tests and the key enumeration per object.
 */
export class Template<T> {
  private readonly recipes: Recipe[] = [];

  constructor(root: T) {
    const index = new Map<unknown, number>();
    const own = deepClone(root);
    const visit = (v: object): number => {
      const hit = index.get(v);
      if (hit !== undefined) {
        return hit;
      }
      const i = this.recipes.length;
      index.set(v, i);
      // A placeholder keeps indices stable while children are visited.
      this.recipes.push(undefined as unknown as Recipe);
      this.recipes[i] = recipeOf(v);
      return i;
    };
    const slot = (x: unknown): [unknown, number] => (x === null || typeof x !== 'object' || isShared(x) ? [x, -1] : [undefined, visit(x)]);
    const build = (kind: Kind, proto: object | null, keys: string[], values: unknown[], source?: unknown): Recipe => {
      const consts: unknown[] = [];
      const refs = new Int32Array(values.length);
      for (let j = 0; j < values.length; j++) {
        const [c, r] = slot(values[j]);
        consts.push(c);
        refs[j] = r;
      }
      return { kind, proto, keys, consts, refs, source };
    };
    const recipeOf = (v: object): Recipe => {
      const proto = Object.getPrototypeOf(v) as object | null;
      if (proto === Array.prototype) {
        return build(Kind.Array, proto, [], [...(v as unknown[])]);
      }
      if ((v as Partial<SelfCloning>)[CLONE] !== undefined) {
        return build(Kind.Self, proto, [], [], v);
      }
      if (v instanceof Map) {
        return build(Kind.Map, proto, [], [...v].flat());
      }
      if (v instanceof Set) {
        return build(Kind.Set, proto, [], [...v]);
      }
      if (ArrayBuffer.isView(v)) {
        return build(Kind.Typed, proto, [], [], v);
      }
      if (proto !== null && Object.prototype.isPrototypeOf.call(GeneratorProto, v)) {
        throw new ModelBug('cannot snapshot: a program is still running (generator in the object graph)');
      }
      const keys = Object.keys(v);
      return build(Kind.Object, proto, keys, keys.map((k) => (v as Record<string, unknown>)[k]));
    };
    if (own === null || typeof own !== 'object') {
      throw new ModelBug('a template needs an object root');
    }
    visit(own);
  }

  /** Number of objects each copy allocates. */
  get objects(): number {
    return this.recipes.length;
  }

  /** A fresh, independent copy of the snapshot. */
  instantiate(): T {
    const rs = this.recipes;
    const n = rs.length;
    const objs: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const r = rs[i] as Recipe;
      switch (r.kind) {
        case Kind.Object:
          objs[i] = Object.create(r.proto);
          break;
        case Kind.Array:
          objs[i] = new Array(r.refs.length);
          break;
        case Kind.Map:
          objs[i] = new Map();
          break;
        case Kind.Set:
          objs[i] = new Set();
          break;
        case Kind.Typed:
          objs[i] = (r.source as { slice(): unknown }).slice();
          break;
        case Kind.Self:
          objs[i] = (r.source as SelfCloning)[CLONE]();
          break;
      }
    }
    for (let i = 0; i < n; i++) {
      const r = rs[i] as Recipe;
      const refs = r.refs;
      const consts = r.consts;
      switch (r.kind) {
        case Kind.Object: {
          const o = objs[i] as Record<string, unknown>;
          const keys = r.keys;
          for (let j = 0; j < refs.length; j++) {
            const ref = refs[j] as number;
            o[keys[j] as string] = ref < 0 ? consts[j] : objs[ref];
          }
          break;
        }
        case Kind.Array: {
          const a = objs[i] as unknown[];
          for (let j = 0; j < refs.length; j++) {
            const ref = refs[j] as number;
            a[j] = ref < 0 ? consts[j] : objs[ref];
          }
          break;
        }
        case Kind.Map: {
          const m = objs[i] as Map<unknown, unknown>;
          for (let j = 0; j < refs.length; j += 2) {
            const kr = refs[j] as number;
            const vr = refs[j + 1] as number;
            m.set(kr < 0 ? consts[j] : objs[kr], vr < 0 ? consts[j + 1] : objs[vr]);
          }
          break;
        }
        case Kind.Set: {
          const s = objs[i] as Set<unknown>;
          for (let j = 0; j < refs.length; j++) {
            const ref = refs[j] as number;
            s.add(ref < 0 ? consts[j] : objs[ref]);
          }
          break;
        }
        default:
          break;
      }
    }
    return objs[0] as T;
  }
}
