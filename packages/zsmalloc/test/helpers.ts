import {
  EBUSY,
  GFP_HIGHUSER_MOVABLE,
  MIGRATE_MODE,
  NR_ZONE,
  PageMovableOpsIsolated,
  alloc_page,
  createMachine,
  folio_put,
  isolate_movable_ops_page,
  migrate_movable_ops_page,
  type Folio,
  type FreeDispatchStrategy,
  type Machine,
  type MachineConfig,
  type Pfn,
} from '@mm/core';
import { get_next_zpdesc, obj_to_pfn, zs_obj_read_begin, zs_obj_read_end, zs_obj_write, zsmallocPlugin, zsmallocState, type ZsPool } from '../src/index.js';

/** Both `__folio_put` strategies; every scenario runs under each. */
export const STRATEGIES: readonly FreeDispatchStrategy[] = ['owner-ops', 'mainline'];

/** The machine configurations scenarios run under: each strategy, with sticky page types (v6.17) and without. */
export const CONFIGS = STRATEGIES.flatMap((strategy) => [
  { strategy, stickyPageTypes: true },
  { strategy, stickyPageTypes: false },
]);

/** A small debugVm machine with zsmalloc installed. */
export function zsMachine(c: MachineConfig & { chainSize?: number } = {}): Machine {
  const { chainSize, ...rest } = c;
  return createMachine({ memory: '32M', debugVm: true, ...rest, plugins: [zsmallocPlugin({ chainSize })] });
}

/** xorshift32: a seeded byte stream (tests never use Math.random). */
export function pattern(seed: number, len: number): Uint8Array {
  let x = seed >>> 0 || 0x9e3779b9;
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Write `pattern(seed, len)` into the object. */
export function writeObj(m: Machine, pool: ZsPool, h: number, len: number, seed: number): void {
  zs_obj_write(m, pool, h, pattern(seed, len), len);
}

/** Read the object's `len` bytes (a copy). */
export function readObj(m: Machine, pool: ZsPool, h: number, len: number): Uint8Array {
  const v = zs_obj_read_begin(m, pool, h, len).slice();
  zs_obj_read_end(m, pool, h, len);
  return v;
}

/** The PFN the object of `h` starts in. */
export function pageOfHandle(m: Machine, h: number): number {
  return obj_to_pfn(zsmallocState(m).handles.obj[h >>> 2]!);
}

/** PFNs of the zspage holding the object of `h`, first page first. */
export function zspagePagesOf(m: Machine, h: number): number[] {
  const st = zsmallocState(m);
  const zs = m.memmap.private[pageOfHandle(m, h)]! >>> 2;
  const out: number[] = [];
  for (let p = st.zspages.first[zs]!; p >= 0; p = get_next_zpdesc(st, p)) out.push(p);
  return out;
}

/** Free pages of all zones (`NR_FREE_PAGES`) plus pages on per-CPU lists. */
export function freePages(m: Machine): number {
  let n = 0;
  for (const z of m.zones) {
    n += z.vmstat[NR_ZONE.nr_free_pages]!;
    for (const p of z.per_cpu_pageset) n += p.count;
  }
  return n;
}

/**
 * What the migration core does for one movable_ops page (`migrate_pages` with one entry):
 * isolate `src`, allocate a destination with `gfp`, ask the owner to migrate; on success drop the
 * destination's allocation reference and `src`'s isolation reference (`migrate_folio_done`), on
 * failure release the destination (`put_new_folio`) and leave `src` isolated for a retry.
 */
export function migrateOnce(m: Machine, src: number, gfp: number = GFP_HIGHUSER_MOVABLE): { rc: number; dst: number } {
  if (!PageMovableOpsIsolated(m, src as Pfn) && !isolate_movable_ops_page(m, src as Pfn, 0)) return { rc: -EBUSY, dst: -1 };
  const dst = alloc_page(m, gfp);
  if (dst === -1) throw new Error('no destination page');
  const rc = migrate_movable_ops_page(m, dst, src as Pfn, MIGRATE_MODE.MIGRATE_SYNC);
  folio_put(m, dst as Folio);
  if (rc === 0) folio_put(m, src as Folio);
  return { rc, dst };
}
