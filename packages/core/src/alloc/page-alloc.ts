import { MmError } from '../debug/mm-error.js';
import { assertValidPfn } from '../debug/validate.js';
import { EINVAL } from '../errno.js';
import type { Machine } from '../machine/machine.js';
import { TAIL_MAPPING, prep_compound_page } from '../page/compound.js';
import { PAGE_FLAGS_CHECK_AT_FREE, PAGE_FLAGS_CHECK_AT_PREP, PAGE_FLAGS_SECOND, PG } from '../page/page-flags.js';
import { PAGE_TYPE_NONE } from '../page/page-type.js';
import { maskTailFlags, zeroTailWords } from '../page/tail-words.js';
import { MAX_NR_ZONES } from '../page/page-zone.js';
import { TAIL_BIT, pfn_ptr } from '../page/word.js';
import { VM_EVENT } from '../trace/vmstat.js';
import { type Folio, type Pfn, MAX_PAGE_ORDER, pageblock_order } from '../types.js';
import { FPI_NONE, __free_one_page, __rmqueue, __rmqueue_smallest } from './buddy.js';
import { GFP, gfp_migratetype, gfp_zone } from './gfp.js';
import { MIGRATE_HIGHATOMIC, MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, get_pfnblock_migratetype, is_migrate_isolate } from './migratetype.js';
import { free_frozen_page_commit, pcp_allowed_order, rmqueue_pcplist } from './pcp.js';
import { ALLOC_HIGH, ALLOC_HIGHATOMIC, ALLOC_NON_BLOCK, ALLOC_NO_WATERMARKS, ALLOC_WMARK_LOW, ALLOC_WMARK_MIN, __zone_watermark_ok, wmark_pages } from './watermark.js';
import { ZONE_BELOW_HIGH, type Zone } from './zone.js';

/**
 * The page allocator's entry points (`mm/page_alloc.c`): `__alloc_pages` with the zonelist walk, the
 * watermark check and the per-CPU fast path; `free_pages_prepare` and the free path. Reclaim, kswapd,
 * the OOM killer, cpusets and mempolicies are not modelled: when no zone passes the min watermark the
 * allocation fails (returns -1) unless the machine has a direct-compaction hook (installed by the
 * migration core) that makes a block of the requested order.
 *
 * @module
 */

const HEAD = 1 << PG.head;

/**
 * `bad_page(page, reason)`: report a page the free or alloc path found in an impossible state. As in
 * the kernel, the page is leaked (never reused) and the machine counts it in `nrBadPages`.
 */
export function bad_page(m: Machine, pfn: number, reason: string): void {
  m.nrBadPages++;
  m.memmap.mapcount[pfn] = PAGE_TYPE_NONE; // page_mapcount_reset(): remove PageBuddy
  if (m.trace.active) m.trace.emit('bad_page', { pfn, reason });
}

/** `page_bad_reason(page, flags)`: why a free page is bad, or null. */
function page_bad_reason(m: Machine, pfn: number, flagsMask: number): string | null {
  const mm = m.memmap;
  if (mm.mapcount[pfn] !== PAGE_TYPE_NONE) return 'nonzero mapcount';
  if (mm.mapping[pfn] !== 0) return 'non-NULL mapping';
  if (mm.refcount[pfn] !== 0) return 'nonzero _refcount';
  if ((mm.flags[pfn]! & flagsMask) !== 0) return flagsMask === PAGE_FLAGS_CHECK_AT_FREE ? 'PAGE_FLAGS_CHECK_AT_FREE flag(s) set' : 'PAGE_FLAGS_CHECK_AT_PREP flag(s) set';
  if (mm.memcgData[pfn] !== 0) return 'page still charged to cgroup';
  return null;
}

/** `free_tail_page_prepare(head, page)`: check and untie one tail page; returns 1 if it was bad. */
function free_tail_page_prepare(m: Machine, head: number, pfn: number): number {
  const mm = m.memmap;
  let reason: string | null = null;
  const idx = pfn - head;
  if (idx === 1) {
    if ((mm.lruPrev[pfn]! | 0) !== -1) reason = 'nonzero large_mapcount';
    else if ((mm.mapping[pfn]! | 0) !== -1) reason = 'nonzero entire_mapcount';
    else if (mm.index[pfn] !== 0) reason = 'nonzero pincount';
    mm.lruPrev[pfn] = 0;
    mm.index[pfn] = 0;
  } else if (idx === 2) {
    if (mm.lruPrev[pfn] !== 0 || mm.mapping[pfn] !== 0) reason = 'on deferred list';
  } else if (idx === 3) {
    // CONFIG_HUGETLB_PAGE: hugetlb's _hugetlb_cgroup overlaps page 3's mapping (not TAIL_MAPPING).
  } else if (mm.mapping[pfn] !== TAIL_MAPPING) {
    reason = 'corrupted mapping in tail page';
  }
  if (reason === null && (mm.lru[pfn]! & TAIL_BIT) === 0) reason = 'PageTail not set';
  if (reason === null && mm.lru[pfn] !== (pfn_ptr(head) | TAIL_BIT) >>> 0) reason = 'compound_head not consistent';
  mm.mapping[pfn] = 0;
  mm.lru[pfn] = 0;
  if (reason !== null) {
    bad_page(m, pfn, reason);
    return 1;
  }
  return 0;
}

/**
 * The tail loop of `free_pages_prepare` with `is_check_pages_enabled()` (the model's `debugVm`): for
 * each tail in order, `free_tail_page_prepare` if the block is compound, then `free_page_is_bad`, then
 * clear its PAGE_FLAGS_CHECK_AT_PREP bits unless it was bad. A tail already in the state the kernel
 * expects (compound: page 4 or later with mapping TAIL_MAPPING and the right compound_head; not
 * compound: no mapping; both: mapcount -1, refcount 0, no PAGE_FLAGS_CHECK_AT_FREE bit, no memcg) is
 * checked and cleared in one step; any other tail takes the page-by-page path, which reports it exactly
 * as the kernel does. Returns the number of bad reports.
 */
function free_tail_pages_checked(m: Machine, head: number, order: number, compound: boolean): number {
  const mm = m.memmap;
  const { flags, lru, mapping, mapcount, refcount, memcgData } = mm;
  const keep = ~PAGE_FLAGS_CHECK_AT_PREP;
  const headWord = (pfn_ptr(head) | TAIL_BIT) >>> 0;
  let bad = 0;
  for (let p = head + 1, end = head + (1 << order); p < end; p++) {
    if (
      mapcount[p] === PAGE_TYPE_NONE &&
      refcount[p] === 0 &&
      (flags[p]! & PAGE_FLAGS_CHECK_AT_FREE) === 0 &&
      memcgData[p] === 0 &&
      (compound ? p - head > 3 && mapping[p] === TAIL_MAPPING && lru[p] === headWord : mapping[p] === 0)
    ) {
      if (compound) {
        mapping[p] = 0;
        lru[p] = 0;
      }
      flags[p]! &= keep;
      continue;
    }
    if (compound) bad += free_tail_page_prepare(m, head, p);
    const why = page_bad_reason(m, p, PAGE_FLAGS_CHECK_AT_FREE);
    if (why !== null) {
      bad_page(m, p, why);
      bad++;
      continue;
    }
    flags[p]! &= keep;
  }
  return bad;
}

/**
 * `free_pages_prepare(page, order)` (`mm/page_alloc.c`): make a block ready for the free lists.
 * Traces `mm_page_free`; keeps hwpoisoned order-0 pages out of the allocator; tears a compound page
 * down (checking pages 1 and 2's large-folio fields always, and under `debugVm` — the kernel's
 * `is_check_pages_enabled()` — every tail's compound head, poison and bad-page conditions); clears an
 * anon mapping; **resets any page type** (the sticky rule of
 * series 2, `2dfcd1608f3a`; with `stickyPageTypes: false` a typed page is a bad page, as before
 * v6.17); checks PAGE_FLAGS_CHECK_AT_FREE and the other "bad page" conditions (the model always
 * checks, like a CONFIG_DEBUG_VM kernel); clears the flag bits. Returns false if the block must not
 * be freed (it is leaked, as the kernel does).
 */
export function free_pages_prepare(m: Machine, pfn: number, order: number): boolean {
  const mm = m.memmap;
  if (m.trace.active) m.trace.emit('mm_page_free', { pfn, order });
  if ((mm.flags[pfn]! & (1 << PG.hwpoison)) !== 0 && order === 0) {
    mm.mapcount[pfn] = PAGE_TYPE_NONE;
    return false;
  }
  const compound = (mm.flags[pfn]! & HEAD) !== 0;
  let bad = 0;
  if (order > 0) {
    if (compound) {
      mm.flags[pfn + 1]! &= ~PAGE_FLAGS_SECOND;
      mm.private[pfn + 1] = 0; // _nr_pages
    }
    if (!m.debugVm) {
      // is_check_pages_enabled() is false: the kernel's loop only unties each tail (mapping = NULL,
      // clear_compound_head) and clears its PAGE_FLAGS_CHECK_AT_PREP bits. The model still checks
      // pages 1 and 2 (cheap, and they carry the large-folio counters); the other tails are written
      // as ranges, with the same result as the kernel's page-by-page loop.
      if (compound) {
        bad += free_tail_page_prepare(m, pfn, pfn + 1);
        if (order > 1) bad += free_tail_page_prepare(m, pfn, pfn + 2);
        zeroTailWords(mm.mapping, pfn, order);
        zeroTailWords(mm.lru, pfn, order);
      }
      maskTailFlags(mm.flags, mm.flagPairs, pfn, order, ~PAGE_FLAGS_CHECK_AT_PREP);
    } else {
      bad += free_tail_pages_checked(m, pfn, order, compound);
    }
  }
  if ((mm.mapping[pfn]! & 1) !== 0) mm.mapping[pfn] = 0; // folio_test_anon: folio->mapping = NULL
  if (m.stickyPageTypes && mm.mapcount[pfn]! < -16777216) mm.mapcount[pfn] = PAGE_TYPE_NONE;
  // The head is always checked (the kernel checks it only with is_check_pages_enabled()): it is
  // cheap, and a bad head is the mistake a model user most needs to see.
  const why = page_bad_reason(m, pfn, PAGE_FLAGS_CHECK_AT_FREE);
  if (why !== null) {
    bad_page(m, pfn, why);
    bad++;
  }
  if (bad) return false;
  mm.flags[pfn]! &= ~PAGE_FLAGS_CHECK_AT_PREP;
  mm.private[pfn] = 0;
  m.vmEvents[VM_EVENT.pgfree]! += 1 << order;
  return true;
}

/** `free_one_page(zone, page, pfn, order, fpi_flags)`: straight to the buddy lists. */
export function free_one_page(m: Machine, zone: Zone, pfn: number, order: number, fpi: number): void {
  split_large_buddy(m, zone, pfn, order, fpi);
}

/**
 * `split_large_buddy(zone, page, pfn, order, fpi)` (`mm/page_alloc.c`, 6.10+): free a block larger
 * than a pageblock one pageblock at a time, each under its own migratetype, so that merging back
 * happens only where the pageblocks' types allow it (an isolated pageblock stays apart).
 */
export function split_large_buddy(m: Machine, zone: Zone, pfn: number, order: number, fpi: number): void {
  const end = pfn + (1 << order);
  const step = order > pageblock_order ? pageblock_order : order;
  for (let p = pfn; p < end; p += 1 << step) __free_one_page(m, p, zone, step, get_pfnblock_migratetype(m, p), fpi);
}

/**
 * `__free_frozen_pages(page, order, fpi_flags)` / `free_frozen_pages(page, order)`: free a block whose
 * refcount is already 0. Orders the per-CPU lists take go there (highatomic and CMA pages on the
 * movable list; isolated blocks straight to the buddy); others go to the buddy lists directly.
 */
export function free_frozen_pages(m: Machine, pfn: number, order: number, fpi = FPI_NONE): void {
  if (!free_pages_prepare(m, pfn, order)) return;
  const zone = m.zoneById[m.memmap.flags[pfn]! >>> 24]!;
  let mt = get_pfnblock_migratetype(m, pfn);
  if (!pcp_allowed_order(order) || fpi !== FPI_NONE) {
    free_one_page(m, zone, pfn, order, fpi);
    return;
  }
  if (mt > MIGRATE_RECLAIMABLE) {
    if (is_migrate_isolate(mt)) {
      free_one_page(m, zone, pfn, order, fpi);
      return;
    }
    mt = MIGRATE_MOVABLE;
  }
  free_frozen_page_commit(m, zone, pfn, mt, order);
}

/**
 * `__free_pages(page, order)`: drop the caller's reference; at 0 free the block. A non-compound
 * high-order block that still has references frees all but its first page, as the kernel does.
 * Rejected with `MmError(EINVAL)`: an invalid PFN, a tail page, an order above MAX_PAGE_ORDER, a
 * compound page freed with the wrong order, or a block whose refcount is already 0 (double free).
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { GFP_KERNEL, __free_pages, alloc_pages, createMachine, drain_all_pages, frag_show } from '@mm/core';
 *
 * const m = createMachine({ memory: '64M', debugVm: true });
 * const before = frag_show(m);
 * const page = alloc_pages(m, GFP_KERNEL, 0);
 * if (page === -1) throw new Error('out of memory');
 * __free_pages(m, page, 0); // order 0: onto this CPU's per-CPU list
 * drain_all_pages(m, null); // per-CPU lists back to the buddy lists, where the page merges again
 * console.log(frag_show(m) === before); // true
 * ```
 */
export function __free_pages(m: Machine, pfn: Pfn, order: number): void {
  const mm = m.memmap;
  const f = mm.flags[pfn];
  const ref = mm.refcount[pfn]!;
  const head = f !== undefined && (f & HEAD) !== 0;
  // One combined test on the fast path; the slow path finds and names the broken rule.
  if (
    f === undefined ||
    f >>> 24 === 0xff ||
    !((order >>> 0) === order && order <= MAX_PAGE_ORDER) ||
    (mm.lru[pfn]! & TAIL_BIT) !== 0 ||
    (head && (mm.flags[pfn + 1]! & 0xff) !== order) ||
    ref <= 0
  ) {
    rejectFreePages(m, pfn, order);
  }
  mm.refcount[pfn] = ref - 1;
  if (ref === 1) free_frozen_pages(m, pfn, order);
  else if (!head) {
    while (order-- > 0) free_frozen_pages(m, pfn + (1 << order), order);
  }
  if (m.debugVm) m.checkInvariants('__free_pages');
}

/** Throw the `MmError` that describes why `__free_pages(pfn, order)` is refused. */
function rejectFreePages(m: Machine, pfn: Pfn, order: number): never {
  assertValidPfn(m, pfn, '__free_pages');
  const mm = m.memmap;
  if (!(Number.isInteger(order) && order >= 0 && order <= MAX_PAGE_ORDER) || (mm.lru[pfn]! & TAIL_BIT) !== 0) {
    throw new MmError(EINVAL, `__free_pages(order ${order}) on ${(mm.lru[pfn]! & TAIL_BIT) !== 0 ? 'a tail page' : 'an invalid order'}`, {
      pfn,
      rule: 'free a block by its first page and its order',
    });
  }
  if ((mm.flags[pfn]! & HEAD) !== 0 && (mm.flags[pfn + 1]! & 0xff) !== order) {
    throw new MmError(EINVAL, `__free_pages(order ${order}) of a compound page of order ${mm.flags[pfn + 1]! & 0xff}`, {
      pfn,
      rule: 'VM_BUG_ON_PAGE(compound && compound_order(page) != order)',
    });
  }
  throw new MmError(EINVAL, `__free_pages on a page with refcount ${mm.refcount[pfn]} (double free?)`, {
    pfn,
    rule: '§2.2 put_page_testzero: the count was not already 0',
  });
}

/** `free_pages(addr, order)` in PFN terms: same as {@link __free_pages}. */
export function free_pages(m: Machine, pfn: Pfn, order: number): void {
  __free_pages(m, pfn, order);
}

/** `__free_page(page)`: `__free_pages(page, 0)`. */
export function __free_page(m: Machine, pfn: Pfn): void {
  __free_pages(m, pfn, 0);
}

/**
 * `post_alloc_hook` + `prep_new_page(page, order, gfp_flags, alloc_flags)`: the block leaves the
 * allocator with refcount 1 and `private` 0, as a compound page if `__GFP_COMP` asks for it. Under
 * `debugVm` the pages are checked as `check_new_pages` does (PAGE_FLAGS_CHECK_AT_PREP clear, no
 * mapping, mapcount -1, refcount 0).
 */
export function prep_new_page(m: Machine, pfn: number, order: number, gfp: number): void {
  const mm = m.memmap;
  if (m.debugVm) {
    for (let i = 0; i < 1 << order; i++) {
      const why = page_bad_reason(m, pfn + i, PAGE_FLAGS_CHECK_AT_PREP);
      if (why !== null) m.vmBug('§3.5 allocated pages', `new page ${pfn + i}: ${why}`, pfn + i);
    }
  }
  mm.private[pfn] = 0;
  mm.refcount[pfn] = 1;
  if (order > 0 && (gfp & GFP.__GFP_COMP) !== 0) prep_compound_page(m, pfn as Pfn, order);
}

/**
 * `rmqueue(preferred_zone, zone, order, gfp_flags, alloc_flags, migratetype)`: the per-CPU lists for
 * the orders they cache, else (or if the pcp refill fails) the buddy lists under the zone lock.
 */
export function rmqueue(m: Machine, zone: Zone, order: number, allocFlags: number, mt: number): number {
  if (pcp_allowed_order(order)) {
    const pfn = rmqueue_pcplist(m, zone, order, mt);
    if (pfn >= 0) return pfn;
  }
  let pfn = -1;
  if (order > 0 && (allocFlags & ALLOC_HIGHATOMIC) !== 0) pfn = __rmqueue_smallest(m, zone, order, MIGRATE_HIGHATOMIC);
  if (pfn < 0) pfn = __rmqueue(m, zone, order, mt);
  if (pfn >= 0 && m.trace.active) m.trace.emit('mm_page_alloc_zone_locked', { pfn, order, migratetype: mt, percpu_refill: false });
  return pfn;
}

/**
 * Zones to try for node `nid`, best first: the node's own from high to low, then other nodes'
 * (`ZONELIST_FALLBACK`; `__GFP_THISNODE` uses `ZONELIST_NOFALLBACK`). Built once per machine and key.
 */
function zonelist(m: Machine, nid: number, highest: number, thisNode: boolean): Zone[] {
  const key = (nid * MAX_NR_ZONES + highest) * 2 + (thisNode ? 1 : 0);
  return (m.zonelists[key] ??= buildZonelist(m, nid, highest, thisNode));
}

function buildZonelist(m: Machine, nid: number, highest: number, thisNode: boolean): Zone[] {
  const out: Zone[] = [];
  const n = m.nodes.length;
  for (let k = 0; k < (thisNode ? 1 : n); k++) {
    const node = m.nodes[(nid + k) % n]!;
    for (let zid = Math.min(highest, MAX_NR_ZONES - 1); zid >= 0; zid--) {
      const z = node.node_zones[zid];
      if (z && z.managed_pages > 0) out.push(z);
    }
  }
  return out;
}

/**
 * `get_page_from_freelist(gfp_mask, order, alloc_flags, ac)`: the first zone of the zonelist that
 * passes its watermark and has a block; the block is prepared and returned (PFN), or -1. A zone that
 * fails its high watermark is marked `ZONE_BELOW_HIGH` on the way (v6.7+), which the per-CPU lists read.
 */
export function get_page_from_freelist(m: Machine, gfp: number, order: number, allocFlags: number, nid: number): number {
  const highest = gfp_zone(gfp);
  const mt = gfp_migratetype(gfp);
  const zones = zonelist(m, nid, highest, (gfp & GFP.__GFP_THISNODE) !== 0);
  for (let i = 0; i < zones.length; i++) {
    const zone = zones[i]!;
    // Detect a zone below its high watermark here, off the hotter free path: the pcp lists then
    // shrink `high` and drain on free (ZONE_BELOW_HIGH, cleared by a drain that lifts the zone again).
    const aboveHigh =
      (zone.flags & (1 << ZONE_BELOW_HIGH)) === 0 && __zone_watermark_ok(zone, order, zone.high_wmark_pages, highest, allocFlags);
    if (!aboveHigh) {
      zone.flags |= 1 << ZONE_BELOW_HIGH;
      if ((allocFlags & ALLOC_NO_WATERMARKS) === 0 && !__zone_watermark_ok(zone, order, wmark_pages(zone, allocFlags), highest, allocFlags)) continue;
    }
    const pfn = rmqueue(m, zone, order, allocFlags, mt);
    if (pfn < 0) continue;
    prep_new_page(m, pfn, order, gfp);
    m.vmEvents[VM_EVENT.pgalloc_dma + zone.zid]! += 1 << order;
    return pfn;
  }
  return -1;
}

/** `gfp_to_alloc_flags(gfp_mask, order)`: the slow path's flags (min watermark, reserves for __GFP_HIGH / atomic). */
export function gfp_to_alloc_flags(gfp: number, order = 0): number {
  let f = ALLOC_WMARK_MIN;
  if (gfp & GFP.__GFP_HIGH) f |= ALLOC_HIGH;
  // Callers that cannot reclaim may dip further — not worth it for __GFP_NOMEMALLOC.
  if ((gfp & GFP.__GFP_DIRECT_RECLAIM) === 0 && (gfp & GFP.__GFP_NOMEMALLOC) === 0) {
    f |= ALLOC_NON_BLOCK;
    if (order > 0) f |= ALLOC_HIGHATOMIC;
  }
  if ((gfp & GFP.__GFP_MEMALLOC) !== 0 && (gfp & GFP.__GFP_NOMEMALLOC) === 0) f |= ALLOC_NO_WATERMARKS;
  return f;
}

/**
 * `__alloc_pages(gfp, order, preferred_nid, nodemask)` (`__alloc_frozen_pages_noprof` + refcount):
 * fast path at the low watermark; slow path at the min watermark (with reserves as the GFP flags
 * allow), then direct compaction if the machine has it and the request may reclaim. Returns the first
 * PFN of the block with refcount 1, or -1 if the allocation fails. Traces `mm_page_alloc`.
 * `MmError(EINVAL)` for an order above MAX_PAGE_ORDER or an unknown node.
 */
export function __alloc_pages(m: Machine, gfp: number, order: number, nid = m.cpuToNode[m.cpu]!): Pfn | -1 {
  // (x >>> 0) === x: a non-negative integer below 2^32, without a call.
  if (!((order >>> 0) === order && order <= MAX_PAGE_ORDER)) {
    throw new MmError(EINVAL, `__alloc_pages: order ${order} above MAX_PAGE_ORDER (${MAX_PAGE_ORDER})`, { rule: 'order ≤ MAX_PAGE_ORDER' });
  }
  if (!((nid >>> 0) === nid && nid < m.nodes.length)) {
    throw new MmError(EINVAL, `__alloc_pages: no node ${nid}`, { rule: 'preferred_nid is an online node' });
  }
  let pfn = get_page_from_freelist(m, gfp, order, ALLOC_WMARK_LOW, nid);
  if (pfn < 0) pfn = get_page_from_freelist(m, gfp, order, gfp_to_alloc_flags(gfp, order), nid);
  if (pfn < 0 && order > 0 && (gfp & GFP.__GFP_DIRECT_RECLAIM) !== 0 && m.hooks.direct_compact) {
    if (m.hooks.direct_compact(gfp, order, nid)) pfn = get_page_from_freelist(m, gfp, order, gfp_to_alloc_flags(gfp, order), nid);
  }
  if (pfn >= 0 && m.trace.active) {
    m.trace.emit('mm_page_alloc', { pfn, order, gfp_flags: gfp, migratetype: gfp_migratetype(gfp) });
  }
  if (m.debugVm) m.checkInvariants('__alloc_pages');
  return pfn as Pfn | -1;
}

/**
 * `alloc_pages(gfp, order)`: allocate on the current CPU's node.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { GFP_KERNEL, VM_EVENT, __free_pages, alloc_pages, createMachine } from '@mm/core';
 *
 * const m = createMachine({ memory: '64M', debugVm: true });
 * const page = alloc_pages(m, GFP_KERNEL, 3); // 8 contiguous pages, not a compound folio
 * if (page === -1) throw new Error('out of memory');
 * console.log(m.memmap.refcount[page], m.vmEvents[VM_EVENT.pgalloc_dma32]); // 1 8
 * __free_pages(m, page, 3); // refcount 1 → 0: back to the buddy allocator
 * ```
 */
export function alloc_pages(m: Machine, gfp: number, order: number): Pfn | -1 {
  return __alloc_pages(m, gfp, order);
}

/** `alloc_pages_node(nid, gfp, order)`. */
export function alloc_pages_node(m: Machine, nid: number, gfp: number, order: number): Pfn | -1 {
  return __alloc_pages(m, gfp, order, nid);
}

/** `alloc_page(gfp)`: one page. */
export function alloc_page(m: Machine, gfp: number): Pfn | -1 {
  return __alloc_pages(m, gfp, 0);
}

/**
 * `folio_alloc(gfp, order)` (`mm/page_alloc.c`): a folio of `order` (compound for order > 0, marked
 * large-rmappable as `page_rmappable_folio` does), or -1.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { GFP_TRANSHUGE, createMachine, folio_alloc, folio_nr_pages, folio_order, folio_put } from '@mm/core';
 *
 * const m = createMachine({ memory: '64M', debugVm: true });
 * const thp = folio_alloc(m, GFP_TRANSHUGE, 9); // a 2 MiB compound folio, or -1
 * if (thp === -1) throw new Error('no free 2 MiB block');
 * console.log(folio_order(m, thp), folio_nr_pages(m, thp)); // 9 512
 * folio_put(m, thp);
 * ```
 */
export function folio_alloc(m: Machine, gfp: number, order: number, nid = m.cpuToNode[m.cpu]!): Folio | -1 {
  const pfn = __alloc_pages(m, gfp | GFP.__GFP_COMP, order, nid);
  if (pfn < 0) return -1;
  if (order > 1) m.memmap.flags[pfn + 1]! |= 1 << PG.large_rmappable;
  return pfn as Folio;
}
