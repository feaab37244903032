import { EBUSY, EINVAL, ENODEV, catchMmError, captureMachineState, createMachine, diffMachineState, type Machine } from '@mm/core';
import { describe, expect, it } from 'vitest';
import {
  zs_compact,
  zs_create_pool,
  zs_destroy_pool,
  zs_free,
  zs_malloc,
  zs_obj_read_begin,
  zs_obj_read_end,
  zs_obj_write,
  zs_stats_size_show,
  zsmallocPlugin,
  zsmallocState,
  type ZsPool,
} from '../src/index.js';
import { CONFIGS, pattern, readObj, writeObj, zsMachine } from './helpers.js';

/** Everything a rejected call could have touched: the core state, the pool's statistics, the object bytes. */
function snapshot(m: Machine, pool: ZsPool, hs: number[]) {
  const st = zsmallocState(m);
  return {
    core: captureMachineState(m),
    stats: zs_stats_size_show(m, pool),
    handles: [st.handles.obj.slice(), st.handles.pool.slice(), st.handles.open.slice()],
    locks: st.zspages.lock.slice(),
    bytes: hs.map((h) => Buffer.from(readObj(m, pool, h, 300)).toString('hex')),
  };
}

function expectUnchanged(m: Machine, pool: ZsPool, hs: number[], before: ReturnType<typeof snapshot>): void {
  const after = snapshot(m, pool, hs);
  expect(diffMachineState(before.core, after.core)).toEqual([]);
  expect(after.stats).toBe(before.stats);
  expect(after.handles).toEqual(before.handles);
  expect(after.locks).toEqual(before.locks);
  expect(after.bytes).toEqual(before.bytes);
}

function rejects(fn: () => unknown, errno: number, rule: RegExp): void {
  const err = catchMmError(fn);
  expect(err.errno).toBe(errno);
  expect(err.rule).toMatch(rule);
}

describe.each(CONFIGS)('bad input is rejected and changes nothing (%o)', (cfg) => {
  it('stale, foreign and made-up handles; double free', () => {
    const m = zsMachine(cfg);
    const pool = zs_create_pool(m, 'a');
    const other = zs_create_pool(m, 'b');
    const hs = [zs_malloc(m, pool, 300), zs_malloc(m, pool, 300)];
    hs.forEach((h, i) => writeObj(m, pool, h, 300, i + 1));
    const foreign = zs_malloc(m, other, 300);
    // Freed last: its slot is not reused (a freed handle's slot goes to the next zs_malloc of any
    // pool, as a slab object would, and would then be that object's handle).
    const stale = zs_malloc(m, pool, 300);
    zs_free(m, pool, stale);
    const before = snapshot(m, pool, hs);
    rejects(() => zs_free(m, pool, stale), EINVAL, /not been freed/);
    rejects(() => zs_obj_read_begin(m, pool, stale, 10), EINVAL, /not been freed/);
    rejects(() => zs_obj_write(m, pool, stale, new Uint8Array(10), 10), EINVAL, /not been freed/);
    rejects(() => zs_free(m, pool, foreign), EINVAL, /pool it came from/);
    rejects(() => zs_obj_read_begin(m, pool, foreign, 10), EINVAL, /pool it came from/);
    rejects(() => zs_free(m, pool, 12345678), EINVAL, /not been freed/);
    rejects(() => zs_free(m, pool, 6), EINVAL, /not been freed/);
    expectUnchanged(m, pool, hs, before);
  });

  it('reading or writing past an object, unpaired read_end, freeing an open object', () => {
    const m = zsMachine(cfg);
    const pool = zs_create_pool(m, 'a');
    const hs = [zs_malloc(m, pool, 300), zs_malloc(m, pool, 300)];
    hs.forEach((h, i) => writeObj(m, pool, h, 300, i + 1));
    const before = snapshot(m, pool, hs);
    rejects(() => zs_obj_read_begin(m, pool, hs[0]!, 301), EINVAL, /mem_len/);
    rejects(() => zs_obj_read_begin(m, pool, hs[0]!, -1), EINVAL, /mem_len/);
    rejects(() => zs_obj_write(m, pool, hs[0]!, pattern(1, 400), 400), EINVAL, /mem_len/);
    rejects(() => zs_obj_write(m, pool, hs[0]!, pattern(1, 10), 20), EINVAL, /handle_mem/);
    rejects(() => zs_obj_read_end(m, pool, hs[0]!, 300), EINVAL, /pairs with/);
    // hs[1] is object 1 of class 320 (300 + 8 header): inside one page, so local_copy is not used;
    // a too-small local_copy is refused all the same.
    rejects(() => zs_obj_read_begin(m, pool, hs[1]!, 300, new Uint8Array(300)), EINVAL, /local_copy/);
    expectUnchanged(m, pool, hs, before);
    zs_obj_read_begin(m, pool, hs[1]!, 300);
    const open = snapshot(m, pool, [hs[0]!]);
    rejects(() => zs_free(m, pool, hs[1]!), EBUSY, /end every read/);
    rejects(() => zs_destroy_pool(m, pool), EBUSY, /free every object/);
    expectUnchanged(m, pool, [hs[0]!], open);
    zs_obj_read_end(m, pool, hs[1]!, 300);
    expect(readObj(m, pool, hs[1]!, 300)).toEqual(pattern(2, 300));
  });

  it('pools: destroyed, from another machine, not installed', () => {
    const m = zsMachine(cfg);
    const pool = zs_create_pool(m, 'a');
    const h = zs_malloc(m, pool, 100);
    rejects(() => zs_destroy_pool(m, pool), EBUSY, /free every object/);
    zs_free(m, pool, h);
    zs_destroy_pool(m, pool);
    rejects(() => zs_malloc(m, pool, 100), EINVAL, /live pool/);
    rejects(() => zs_compact(m, pool), EINVAL, /live pool/);
    const m2 = zsMachine(cfg);
    const p2 = zs_create_pool(m2, 'x');
    rejects(() => zs_malloc(m, p2, 100), EINVAL, /live pool/);
    rejects(() => zs_malloc(m2, p2, 1.5), EINVAL, /size_t/);
    rejects(() => zs_malloc(m2, p2, 100, undefined, 7), EINVAL, /online node/);
    rejects(() => zs_create_pool(createMachine({ memory: '16M' }), 'x'), ENODEV, /plugin/);
    rejects(() => zsmallocPlugin({ chainSize: 3 }), EINVAL, /CONFIG_ZSMALLOC_CHAIN_SIZE/);
  });
});
