/**
 * A checker of the Trace Event Format rules that matter for Perfetto and chrome://tracing
 * (JSON Object Format): required fields per phase, flows matched and bound to slices, complete
 * slices nested per track, B/E balanced and in time order per track, every track named.
 */
type Ev = Record<string, unknown> & { name: string; ph: string; pid: number; tid: number; ts: number };

const METADATA = new Set(['process_name', 'process_sort_index', 'thread_name', 'thread_sort_index', 'process_labels']);

/** Problems found (empty: the file is well-formed). */
export function traceFormatProblems(file: unknown): string[] {
  const problems: string[] = [];
  const f = file as { traceEvents?: unknown; displayTimeUnit?: unknown };
  if (!Array.isArray(f.traceEvents)) {
    return ['traceEvents is not an array'];
  }
  if (f.displayTimeUnit !== undefined && f.displayTimeUnit !== 'ms' && f.displayTimeUnit !== 'ns') {
    problems.push(`displayTimeUnit ${String(f.displayTimeUnit)}`);
  }
  const events = f.traceEvents as Ev[];
  const named = new Set<string>();
  const procs = new Set<number>();
  const slices = new Map<string, { ts: number; end: number }[]>();
  const be = new Map<string, { stack: number; last: number }>();
  events.forEach((e, i) => {
    const at = `event ${i} (${e.ph} ${e.name})`;
    if (typeof e.name !== 'string' || typeof e.ph !== 'string' || !Number.isInteger(e.pid) || !Number.isInteger(e.tid)) {
      problems.push(`${at}: name, ph, pid and tid are required`);
      return;
    }
    if (e.ph !== 'M' && (typeof e.ts !== 'number' || !Number.isFinite(e.ts) || e.ts < 0)) {
      problems.push(`${at}: ts must be a finite number >= 0`);
    }
    const key = `${e.pid}/${e.tid}`;
    switch (e.ph) {
      case 'M':
        if (!METADATA.has(e.name) || typeof e['args'] !== 'object') {
          problems.push(`${at}: unknown metadata or no args`);
        }
        if (e.name === 'thread_name') {
          named.add(key);
        }
        if (e.name === 'process_name') {
          procs.add(e.pid);
        }
        break;
      case 'X': {
        const dur = e['dur'];
        if (typeof dur !== 'number' || !(dur >= 0)) {
          problems.push(`${at}: X needs dur >= 0`);
        } else {
          slices.set(key, [...(slices.get(key) ?? []), { ts: e.ts, end: e.ts + dur }]);
        }
        break;
      }
      case 'i':
      case 'I':
        if (e['s'] !== undefined && e['s'] !== 't' && e['s'] !== 'p' && e['s'] !== 'g') {
          problems.push(`${at}: instant scope must be t, p or g`);
        }
        break;
      case 's':
      case 't':
      case 'f':
        if (e['id'] === undefined || typeof e['cat'] !== 'string') {
          problems.push(`${at}: flow events need id and cat`);
        }
        if (e['bp'] !== undefined && e['bp'] !== 'e') {
          problems.push(`${at}: bp must be "e"`);
        }
        break;
      case 'B':
      case 'E': {
        const st = be.get(key) ?? { stack: 0, last: -Infinity };
        if (e.ts < st.last) {
          problems.push(`${at}: B/E out of time order on track ${key}`);
        }
        st.last = e.ts;
        st.stack += e.ph === 'B' ? 1 : -1;
        if (st.stack < 0) {
          problems.push(`${at}: E without B on track ${key}`);
        }
        be.set(key, st);
        break;
      }
      default:
        problems.push(`${at}: unexpected phase`);
    }
  });
  // Every track with events is named; every process too.
  for (const e of events) {
    if (e.ph !== 'M' && !(e.ph === 'i' && e['s'] === 'g') && !named.has(`${e.pid}/${e.tid}`)) {
      problems.push(`track ${e.pid}/${e.tid} has events but no thread_name`);
      break;
    }
    if (e.ph !== 'M' && !procs.has(e.pid)) {
      problems.push(`process ${e.pid} has events but no process_name`);
      break;
    }
  }
  // Complete slices nest: on one track, two slices are disjoint or one contains the other.
  for (const [key, list] of slices) {
    const sorted = [...list].sort((a, b) => a.ts - b.ts || b.end - a.end);
    const stack: { ts: number; end: number }[] = [];
    for (const s of sorted) {
      while (stack.length > 0 && (stack[stack.length - 1] as { end: number }).end <= s.ts) {
        stack.pop();
      }
      const top = stack[stack.length - 1];
      if (top !== undefined && s.end > top.end) {
        problems.push(`track ${key}: slice [${s.ts}, ${s.end}] overlaps [${top.ts}, ${top.end}] without nesting`);
        break;
      }
      stack.push(s);
    }
  }
  // Flows: one start and one end per id, the end not before the start, both inside a slice of their track.
  const byId = new Map<string, Ev[]>();
  for (const e of events.filter((x) => x.ph === 's' || x.ph === 'f')) {
    const k = `${String(e['cat'])}:${String(e['id'])}`;
    byId.set(k, [...(byId.get(k) ?? []), e]);
  }
  const inSlice = (e: Ev): boolean => (slices.get(`${e.pid}/${e.tid}`) ?? []).some((s) => s.ts <= e.ts && e.ts <= s.end);
  for (const [k, list] of byId) {
    const s = list.filter((e) => e.ph === 's');
    const fin = list.filter((e) => e.ph === 'f');
    if (s.length !== 1 || fin.length !== 1) {
      problems.push(`flow ${k}: ${s.length} starts and ${fin.length} ends`);
      continue;
    }
    const [a, b] = [s[0] as Ev, fin[0] as Ev];
    if (b.ts < a.ts || a.name !== b.name) {
      problems.push(`flow ${k}: ends before it starts, or names differ`);
    }
    if (!inSlice(a) || !inSlice(b)) {
      problems.push(`flow ${k}: not bound to an enclosing slice`);
    }
  }
  for (const [key, st] of be) {
    if (st.stack !== 0) {
      problems.push(`track ${key}: ${st.stack} B without E`);
    }
  }
  return problems;
}
