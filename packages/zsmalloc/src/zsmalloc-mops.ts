import {
  EINVAL,
  MmError,
  PAGE_SIZE,
  PG,
  PGTY,
  SetPageMovableOps,
  TAIL_BIT,
  __SetPageZsmalloc,
  assertValidPfn,
  folio_get,
  folio_put,
  page_zone,
  type Folio,
  type IsolateMode,
  type MigrateMode,
  type MovableOperations,
  type Pfn,
} from '@mm/core';
import { inject, injectable } from 'tsyringe';
import { location_to_obj, obj_to_idx } from './handle.js';
import { obj_allocated } from './compact.js';
import { create_page_chain } from './zs-malloc.js';
import {
  get_first_obj_offset,
  get_next_zpdesc,
  get_zspage,
  reset_zpdesc,
  set_first_obj_offset,
  zpdesc_dec_zone_page_state,
  zpdesc_inc_zone_page_state,
} from './zpdesc.js';
import { zspage_write_trylock, zspage_write_unlock } from './zspage.js';
import { ZsmallocState } from './zsmalloc-state.js';

/**
 * The errno `zs_page_migrate` returns when the zspage lock is contended. The kernel returned
 * `-EINVAL` (the version this model follows); a 2026 mm-unstable commit ("zsmalloc: return -EBUSY
 * for zspage migration lock contention") changes it to `-EBUSY`.
 */
export const zsPageMigrateContended = -EINVAL;

/**
 * `replace_sub_page(class, zspage, newzpdesc, zpdesc)`: rebuild the zspage's page chain with `dst`
 * in `src`'s place, give `dst` `src`'s `first_obj_offset` (and, on a huge zspage, its handle word)
 * and mark it movable.
 */
function replace_sub_page(st: ZsmallocState, zs: number, dst: number, src: number): void {
  const m = st.m;
  const pages = st.pages;
  let n = 0;
  for (let p = st.zspages.first[zs]!; p >= 0; p = get_next_zpdesc(st, p)) pages[n++] = p === src ? dst : p;
  const pool = st.pools[st.zspages.pool[zs]!]!;
  create_page_chain(st, pool.size_class[st.zspages.classIdx[zs]!]!, zs, pages);
  set_first_obj_offset(m, dst, get_first_obj_offset(m, src));
  if (st.zspages.huge[zs] === 1) m.memmap.index[dst] = m.memmap.index[src]!;
  SetPageMovableOps(m, dst as Pfn);
}

/**
 * `zsmalloc_mops` (`mm/zsmalloc.c`): zsmalloc's `struct movable_operations`, registered for
 * PGTY_zsmalloc. The migration core calls it with the page locked and isolated.
 *
 * - `isolate_page` (`zs_page_isolate`): true while the page still belongs to a zspage; a page whose
 *   zspage was freed (it keeps PageZsmalloc until the allocator frees it) is refused.
 * - `migrate_page` (`zs_page_migrate`): if the zspage is already gone, succeed without doing
 *   anything; if its lock is held (an open reader, a compaction) return -EINVAL; else mark `dst`
 *   PageZsmalloc, copy the page, point the handle of every allocated object that starts in the page
 *   at `dst`, put `dst` in `src`'s place in the chain, take a reference on `dst`, move NR_ZSPAGES if
 *   the zones differ, reset `src` and drop zsmalloc's reference on it.
 * - `putback_page` (`zs_page_putback`): nothing to do.
 */
@injectable()
export class ZsmallocMops implements MovableOperations {
  /** PGTY_zsmalloc. */
  readonly pageType = PGTY.zsmalloc;

  /** Built by the DI container. */
  constructor(@inject(ZsmallocState) private readonly st: ZsmallocState) {}

  /** `zs_page_isolate(page, mode)`. */
  isolate_page(page: Pfn, mode: IsolateMode): boolean {
    void mode;
    return get_zspage(this.st.m, page) !== 0;
  }

  /** `zs_page_migrate(newpage, page, mode)`: 0 or `-EINVAL`; `MmError(EINVAL)` for an unusable `dst`. */
  migrate_page(dst: Pfn, src: Pfn, mode: MigrateMode): number {
    void mode;
    const st = this.st;
    const m = st.m;
    const zs = get_zspage(m, src);
    if (zs === 0) return 0;
    assertValidPfn(m, dst, 'zs_page_migrate');
    const mm = m.memmap;
    if (dst === src || mm.refcount[dst]! < 1 || mm.mapcount[dst] !== -1 || (mm.lru[dst]! & TAIL_BIT) !== 0 || (mm.flags[dst]! & (1 << PG.head)) !== 0 || mm.private[dst] !== 0) {
      throw new MmError(EINVAL, 'zs_page_migrate: the destination must be an allocated, untyped order-0 page', {
        pfn: dst,
        rule: 'migration targets come from the allocator',
      });
    }
    const t = st.zspages;
    if (!zspage_write_trylock(t, zs)) return zsPageMigrateContended;
    const run = (): number => {
      const pool = st.pools[t.pool[zs]!]!;
      const size = pool.size_class[t.classIdx[zs]!]!.size;
      __SetPageZsmalloc(m, dst);
      st.contents.attach(dst);
      st.contents.copyPage(dst, src);
      const h = st.handles;
      for (let off = get_first_obj_offset(m, src); off < PAGE_SIZE; off += size) {
        const handle = obj_allocated(st, src, off);
        if (handle !== 0) h.obj[handle >>> 2] = location_to_obj(dst, obj_to_idx(h.obj[handle >>> 2]!));
      }
      replace_sub_page(st, zs, dst, src);
      zspage_write_unlock(t, zs);
      folio_get(m, dst as Folio);
      if (page_zone(m, dst) !== page_zone(m, src)) {
        zpdesc_dec_zone_page_state(m, src);
        zpdesc_inc_zone_page_state(m, dst);
      }
      reset_zpdesc(st, src);
      folio_put(m, src as Folio);
      return 0;
    };
    return m.debugVm ? m.withChecksDeferred('zs_page_migrate', run) : run();
  }

  /** `zs_page_putback(page)`: nothing to undo. */
  putback_page(page: Pfn): void {
    void page;
  }
}
