import { InvariantCheck, NR_ZONE, PG, PGTY, TAIL_BIT, id_ptr, type Machine } from '@mm/core';
import { inject, injectable } from 'tsyringe';
import { get_fullness_group } from './fullness.js';
import { obj_to_idx, obj_to_pfn } from './handle.js';
import { NR_FULLNESS_GROUPS, OBJ_ALLOCATED_TAG, ZSPAGE_MAGIC, ZS_INUSE_RATIO_0, ZS_OBJS_ALLOCATED, ZS_OBJS_INUSE, ZS_SIZE_CLASSES } from './size-class.js';
import { get_next_zpdesc } from './zpdesc.js';
import { ZsmallocState } from './zsmalloc-state.js';

const PRIVATE = 1 << PG.private;
const ZSMALLOC_TYPE = PGTY.zsmalloc;

/** A `mapcount` word that says PageZsmalloc (the type in the top byte, below the "no type" range). */
function isZsmallocType(v: number): boolean {
  return v >>> 24 === ZSMALLOC_TYPE && v < -16777216;
}

/**
 * The `debugVm` checker for kernel-semantics §13 §8 (zsmalloc), run after every operation:
 *
 * 1. every page of a live zspage has PageZsmalloc, points at its zspage, holds a reference, has
 *    contents, and only the first has PG_private; a PageZsmalloc page outside any zspage (its zspage
 *    was freed while someone, e.g. the migration core, held it) still has a reference;
 * 2. `0 <= inuse <= objs_per_zspage`; every live zspage is on exactly one fullness list, the one its
 *    usage calls for; the per-group counts and `obj_allocated`/`obj_used` match the lists; an empty
 *    zspage exists only while the deferred-free work is pending;
 * 3. every live handle resolves to an object of its own pool whose header (or huge page's handle
 *    word) holds `handle | OBJ_ALLOCATED_TAG`, each zspage's objects number `inuse`, and a zspage's
 *    read lock count equals the reads open on its objects;
 * 4. `pages_allocated` equals the pages of the pool's zspages, and each zone's NR_ZSPAGES equals the
 *    zspage pages it holds.
 */
@injectable()
export class ZsmallocInvariants implements InvariantCheck {
  /** The family this check reports under. */
  readonly name = '§8 zsmalloc';

  /** The pages whose memmap says PageZsmalloc, as of the last `check` or `checkChanged`. */
  private readonly zsPages = new Set<number>();

  /** Built by the DI container. */
  constructor(@inject(ZsmallocState) private readonly st: ZsmallocState) {}

  /** Throw `VmBugError` on the first violation. */
  check(m: Machine): void {
    const mapcount = m.memmap.mapcount;
    this.zsPages.clear();
    for (let p = 0; p < mapcount.length; p++) if (isZsmallocType(mapcount[p]!)) this.zsPages.add(p);
    this.run(m);
  }

  /**
   * The same check, given that only the pages in `changed` had a memmap word written since the last
   * `check` or `checkChanged`: the PageZsmalloc pages are found from `changed` instead of a scan of
   * the memmap; everything outside the memmap (pools, classes, zspages, handles) is checked whole.
   */
  checkChanged(m: Machine, changed: readonly number[]): void {
    const mapcount = m.memmap.mapcount;
    for (const p of changed) {
      if (isZsmallocType(mapcount[p]!)) this.zsPages.add(p);
      else this.zsPages.delete(p);
    }
    this.run(m);
  }

  /** Everything but the scan for PageZsmalloc pages (`zsPages` holds them). */
  private run(m: Machine): void {
    const st = this.st;
    const mm = m.memmap;
    const t = st.zspages;
    const seen = new Uint8Array(t.limit);
    const zonePages = new Map<number, number>();
    let totalPages = 0;
    // Local copies of the module constants the loops below read 255 × 12 times per pool (an
    // imported binding can be a getter call once transpiled to CommonJS).
    const nrClasses = ZS_SIZE_CLASSES;
    const nrGroups = NR_FULLNESS_GROUPS;
    const allocatedIdx = ZS_OBJS_ALLOCATED;
    const inuseIdx = ZS_OBJS_INUSE;
    for (const pool of st.pools) {
      if (pool === undefined) continue;
      let poolPages = 0;
      for (let i = 0; i < nrClasses; i++) {
        const cls = pool.size_class[i]!;
        if (cls.index !== i) continue;
        let nZs = 0;
        let inuse = 0;
        const lists = cls.fullness_list;
        const stats = cls.stats;
        for (let fg = 0; fg < nrGroups; fg++) {
          if (lists[fg]! < 0) {
            if (stats[fg] !== 0) m.vmBug('§8.2 fullness stats', `pool "${pool.name}" class ${cls.index} group ${fg}: 0 zspages listed, ${stats[fg]} counted`);
            continue;
          }
          let n = 0;
          for (let zs = lists[fg]!; zs >= 0; zs = t.next[zs]!) {
            if (++n > t.limit || seen[zs] !== 0) m.vmBug('§8.2 fullness lists', `zspage ${zs} is on two lists or a list loops`);
            seen[zs] = 1;
            if (t.magic[zs] !== ZSPAGE_MAGIC || t.pool[zs] !== pool.id || t.classIdx[zs] !== cls.index) {
              m.vmBug('§8.2 fullness lists', `zspage ${zs} on pool "${pool.name}" class ${cls.index} is not a live zspage of it`);
            }
            if (t.inuse[zs]! > cls.objs_per_zspage) m.vmBug('§8.2 inuse', `zspage ${zs}: inuse ${t.inuse[zs]} > ${cls.objs_per_zspage}`, t.first[zs]);
            if (t.fullness[zs] !== fg || get_fullness_group(t, cls, zs) !== fg) {
              m.vmBug('§8.2 fullness group', `zspage ${zs} with ${t.inuse[zs]}/${cls.objs_per_zspage} objects filed under group ${fg}`, t.first[zs]);
            }
            if (fg === ZS_INUSE_RATIO_0 && !pool.free_work_pending) m.vmBug('§8.2 empty zspage', `empty zspage ${zs} neither freed nor queued for deferred freeing`, t.first[zs]);
            let k = 0;
            for (let p = t.first[zs]!; p >= 0; p = get_next_zpdesc(st, p)) {
              if (++k > cls.pages_per_zspage) m.vmBug('§8.1 zspage pages', `zspage ${zs} chains more than ${cls.pages_per_zspage} pages`, p);
              if (mm.mapcount[p]! >>> 24 !== ZSMALLOC_TYPE || mm.mapcount[p]! >= -16777216) m.vmBug('§8.1 PageZsmalloc', `page of zspage ${zs} lacks PageZsmalloc`, p);
              if (mm.private[p] !== id_ptr(zs)) m.vmBug('§8.1 zspage pointer', `page of zspage ${zs} points at zspage ${mm.private[p]! >>> 2}`, p);
              if (((mm.flags[p]! & PRIVATE) !== 0) !== (k === 1)) m.vmBug('§8.1 PG_private', `PG_private ${k === 1 ? 'missing on the first' : 'set on a later'} page of zspage ${zs}`, p);
              if (mm.refcount[p]! < 1 || (mm.lru[p]! & TAIL_BIT) !== 0) m.vmBug('§8.1 zspage pages', `page of zspage ${zs} is free or a tail page`, p);
              if (!st.contents.has(p)) m.vmBug('§8.1 zspage pages', `page of zspage ${zs} has no contents`, p);
              const zid = mm.flags[p]! >>> 24;
              zonePages.set(zid, (zonePages.get(zid) ?? 0) + 1);
            }
            if (k !== cls.pages_per_zspage) m.vmBug('§8.1 zspage pages', `zspage ${zs} chains ${k} pages, its class ${cls.pages_per_zspage}`, t.first[zs]);
            nZs++;
            inuse += t.inuse[zs]!;
          }
          if (n !== cls.stats[fg]) m.vmBug('§8.2 fullness stats', `pool "${pool.name}" class ${cls.index} group ${fg}: ${n} zspages listed, ${cls.stats[fg]} counted`);
        }
        if (stats[allocatedIdx] !== nZs * cls.objs_per_zspage || stats[inuseIdx] !== inuse) {
          m.vmBug('§8.2 class stats', `pool "${pool.name}" class ${cls.index}: obj_allocated ${cls.stats[ZS_OBJS_ALLOCATED]} / obj_used ${cls.stats[ZS_OBJS_INUSE]}, zspages hold ${nZs * cls.objs_per_zspage} / ${inuse}`);
        }
        poolPages += nZs * cls.pages_per_zspage;
      }
      if (poolPages !== pool.pages_allocated) m.vmBug('§8.4 pages_allocated', `pool "${pool.name}": pages_allocated ${pool.pages_allocated}, zspages hold ${poolPages}`);
      totalPages += poolPages;
    }
    for (let zs = 1; zs < t.limit; zs++) {
      if (t.magic[zs] === ZSPAGE_MAGIC && seen[zs] === 0) m.vmBug('§8.2 fullness lists', `live zspage ${zs} is on no fullness list`, t.first[zs]);
    }
    this.checkHandles(m);
    if (st.contents.count !== totalPages) m.vmBug('§8.1 zspage pages', `${st.contents.count} pages hold zsmalloc contents, zspages have ${totalPages}`);
    for (const z of m.zones) {
      const want = zonePages.get(z.id) ?? 0;
      if (z.vmstat[NR_ZONE.nr_zspages] !== want) m.vmBug('§8.4 NR_ZSPAGES', `${z.name}: NR_ZSPAGES ${z.vmstat[NR_ZONE.nr_zspages]}, zspage pages ${want}`);
    }
    for (const p of this.zsPages) {
      const zs = mm.private[p]! >>> 2;
      if (zs !== 0 ? seen[zs] !== 1 : mm.refcount[p]! < 1) {
        m.vmBug('§8.1 PageZsmalloc', zs !== 0 ? `PageZsmalloc page points at dead zspage ${zs}` : 'PageZsmalloc page outside any zspage holds no reference', p);
      }
    }
  }

  /** §8.3: every handle resolves to its object; objects per zspage equal `inuse`; read locks equal open reads. */
  private checkHandles(m: Machine): void {
    const st = this.st;
    const mm = m.memmap;
    const t = st.zspages;
    const h = st.handles;
    const objs = new Uint32Array(t.limit);
    const open = new Uint32Array(t.limit);
    for (let id = 1; id < h.limit; id++) {
      if (h.pool[id] === 0) continue;
      const handle = id * 4;
      const obj = h.obj[id]!;
      const pfn = obj_to_pfn(obj);
      const zs = pfn < mm.private.length ? mm.private[pfn]! >>> 2 : 0;
      if (zs === 0 || t.magic[zs] !== ZSPAGE_MAGIC || t.pool[zs] !== h.pool[id]) {
        m.vmBug('§8.3 handle', `handle ${handle} of pool ${h.pool[id]} resolves to pfn ${pfn}, not a page of its pool's zspages`, pfn < mm.private.length ? pfn : undefined);
      }
      const cls = st.pools[t.pool[zs]!]!.size_class[t.classIdx[zs]!]!;
      const start = cls.size * obj_to_idx(obj);
      let page = t.first[zs]!;
      for (let i = 0; i < start >>> 12; i++) page = get_next_zpdesc(st, page);
      if (page !== pfn) m.vmBug('§8.3 handle', `handle ${handle}: object ${obj_to_idx(obj)} starts in pfn ${page}, the handle says ${pfn}`, pfn);
      let word: number;
      if (t.huge[zs] === 1) word = mm.index[pfn]!;
      else {
        st.contents.readWord(pfn, start & 4095, st.word);
        word = st.word[1] === 0 ? st.word[0]! : -1;
      }
      if (word !== ((handle | OBJ_ALLOCATED_TAG) >>> 0)) m.vmBug('§8.3 handle', `object of handle ${handle} has header ${word}`, pfn);
      objs[zs]!++;
      open[zs]! += h.open[id]!;
    }
    for (let zs = 1; zs < t.limit; zs++) {
      if (t.magic[zs] !== ZSPAGE_MAGIC) continue;
      if (objs[zs] !== t.inuse[zs]) m.vmBug('§8.3 handle', `zspage ${zs}: ${objs[zs]} handles resolve into it, inuse ${t.inuse[zs]}`, t.first[zs]);
      if (t.lock[zs] !== open[zs]) m.vmBug('§8.3 zspage lock', `zspage ${zs}: lock count ${t.lock[zs]}, open reads ${open[zs]}`, t.first[zs]);
    }
  }
}
