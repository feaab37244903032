import { Machine, captureMachineState, diffMachineState, restoreMachineCheckpoint, saveMachineCheckpoint } from '@mm/core';
import { describe, expect, it } from 'vitest';
import { zs_compact, zs_create_pool, zs_free, zs_malloc, zsmallocState, type ZsPool, type ZsmallocState } from '../src/index.js';
import { STRATEGIES, migrateOnce, readObj, writeObj, zsMachine, zspagePagesOf } from './helpers.js';

/** FNV-1a of a large typed array's bytes (the page-contents chunks are 1 MiB). */
function fnv(v: ArrayBufferView): number {
  const b = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

/** Every field of the zsmalloc state, as plain data (shared objects by their first path, large arrays hashed). */
function zsSnapshot(st: ZsmallocState): unknown {
  const seen = new Map<object, number>();
  const walk = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return typeof v === 'function' ? 'function' : v;
    if (v instanceof Machine) return 'machine';
    if (seen.has(v)) return `#${seen.get(v)}`;
    seen.set(v, seen.size);
    if (ArrayBuffer.isView(v)) return v.byteLength > 65536 ? `fnv ${fnv(v)}` : Array.from(v as Uint8Array);
    return Object.fromEntries(Object.keys(v).map((k) => [k, walk((v as Record<string, unknown>)[k])]));
  };
  return walk(st);
}

describe.each(STRATEGIES)('zsmalloc checkpoint with pools (%s)', (strategy) => {
  it('a restore puts back every pool, zspage, handle and object byte exactly, any number of times', () => {
    const m = zsMachine({ strategy });
    const st = zsmallocState(m);
    const pool = zs_create_pool(m, 'zram0');
    // Objects of several classes; every other one freed, so zspages are partly used.
    const objs = new Map<number, number>();
    for (let i = 0; i < 40; i++) {
      const len = 100 + ((i * 997) % 3000);
      const h = zs_malloc(m, pool, len);
      expect(h).toBeGreaterThan(0);
      writeObj(m, pool, h, len, i + 1);
      objs.set(h, len);
    }
    for (const [h] of [...objs].filter((_, i) => i % 2 === 1)) {
      zs_free(m, pool, h);
      objs.delete(h);
    }
    m.checkInvariants('setup');
    const cp = saveMachineCheckpoint(m);
    const everything = (p: ZsPool, live: ReadonlyMap<number, number> = objs) => ({
      core: captureMachineState(m),
      zs: zsSnapshot(st),
      objs: [...live].map(([h, len]) => [h, Array.from(readObj(m, p, h, len))]),
    });
    const saved = everything(pool);
    const expectSame = (a: typeof saved, b: typeof saved): void => {
      expect(diffMachineState(a.core, b.core)).toEqual([]);
      expect(b.zs).toEqual(a.zs);
      expect(b.objs).toEqual(a.objs);
    };

    // New objects and zspages, frees, a page migrated, compaction, a second pool.
    const run = (): typeof saved => {
      const extra: number[] = [];
      for (let i = 0; i < 30; i++) {
        const h = zs_malloc(m, pool, 200 + i * 50);
        writeObj(m, pool, h, 200 + i * 50, 1000 + i);
        extra.push(h);
      }
      for (const [h] of [...objs].slice(0, 5)) zs_free(m, pool, h);
      expect(migrateOnce(m, zspagePagesOf(m, extra[0]!)[0]!).rc).toBe(0);
      zs_compact(m, pool);
      const other = zs_create_pool(m, 'zram1');
      writeObj(m, other, zs_malloc(m, other, 3000), 3000, 7);
      m.checkInvariants('run');
      return everything(pool, new Map(extra.map((h, i) => [h, 200 + i * 50])));
    };
    const first = run();
    expect(first.zs).not.toEqual(saved.zs);
    expect(st.pools.length).toBe(3);

    restoreMachineCheckpoint(m, cp);
    expectSame(saved, everything(pool));
    expect(st.pools).toEqual([undefined, pool]);
    expect(st.pools[1]).toBe(pool);
    m.checkInvariants('restored');

    // The restored objects are the ones the machine uses: the same run gives the same state again.
    expectSame(first, run());
    restoreMachineCheckpoint(m, cp);
    expectSame(saved, everything(pool));
  });
});
