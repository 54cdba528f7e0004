import { describe, expect, it } from 'vitest';

import { deepClone } from '../../../src/base/clone.js';
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
