import { MIGRATE_CMA, MIGRATE_ISOLATE, MIGRATE_TYPES, get_pfnblock_migratetype, migratetype_is_mergeable } from '../alloc/migratetype.js';
import { list_next } from '../alloc/page-list.js';
import { pindex_to_order } from '../alloc/pcp.js';
import { NR_PCP_LISTS } from '../alloc/zone.js';
import type { Machine } from '../machine/machine.js';
import { LRU, NR_LRU_LISTS } from '../machine/pglist-data.js';
import { PAGE_FLAGS_CHECK_AT_PREP, PG } from '../page/page-flags.js';
import { PGTY } from '../page/page-type.js';
import { FOLIO_OWNER_OPS, PTR_TAG_MASK, TAIL_BIT } from '../page/word.js';
import { NR_NODE, NR_ZONE } from '../trace/vmstat.js';
import { MAX_PAGE_ORDER, NR_PAGE_ORDERS, pageblock_order } from '../types.js';

/**
 * The core's `CONFIG_DEBUG_VM` checker: the invariants of kernel-semantics §13 for struct pages
 * (§1), reference counts (§2) and the buddy allocator (§3), plus LRU bookkeeping. Each violation
 * throws `VmBugError` naming the invariant, with a `dump_page` of the page. The check walks the whole
 * memmap, so it is meant for test-sized machines.
 *
 * @module
 */

const TYPED_LIMIT = 0xff000000 | 0;
const KNOWN_TYPES = new Set<number>(Object.values(PGTY));
const BUDDY = (PGTY.buddy << 24) | 0;
// Module-local copies of imported constants: the per-page loops below run over the whole memmap, and
// some transpilers (vitest's) turn every use of an imported binding into a property read.
const TAIL = TAIL_BIT;
const TAG_MASK = PTR_TAG_MASK;
const OWNER_TAG = FOLIO_OWNER_OPS;
const PREP_FLAGS = PAGE_FLAGS_CHECK_AT_PREP & ~(1 << PG.reported);
const HEAD_FLAG = 1 << PG.head;
const MOVABLE_OPS_FLAG = 1 << PG.movable_ops;
const ISOLATED_FLAG = 1 << PG.movable_ops_isolated;
const T_OFFLINE = PGTY.offline;
const T_ZSMALLOC = PGTY.zsmalloc;

/** Run every core invariant check on `m`; throws `VmBugError` on the first violation. */
export function check_invariants(m: Machine): void {
  const where = checkFreeLists(m);
  checkPages(m, where);
  checkLru(m);
}

/** §3: walk every free list and pcp list; returns, per PFN, 1 for a buddy block's head, 2 inside, 3 on a pcp list. */
function checkFreeLists(m: Machine): Uint8Array {
  const mm = m.memmap;
  const where = new Uint8Array(mm.flags.length);
  for (const z of m.zones) {
    let free = 0;
    let cma = 0;
    for (let order = 0; order < NR_PAGE_ORDERS; order++) {
      let blocks = 0;
      for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
        const li = order * MIGRATE_TYPES + mt;
        let n = 0;
        for (let p = z.free_list.heads[li]!; p >= 0; p = list_next(mm.lru, p)) {
          n++;
          if (n > mm.flags.length) m.vmBug('§3.1 free lists', `free_list[${order}][${mt}] of ${z.name} loops`, p);
          if (p & ((1 << order) - 1)) m.vmBug('§3.2 buddy alignment', `order-${order} block at unaligned pfn`, p);
          if (mm.mapcount[p] !== BUDDY || mm.private[p] !== order) m.vmBug('§3.2 buddy head', `block on order-${order} list lacks PageBuddy/order`, p);
          if (!z.spans(p) || !z.spans(p + (1 << order) - 1)) m.vmBug('§3.2 buddy zone', `block outside ${z.name}`, p);
          if (order < pageblock_order && get_pfnblock_migratetype(m, p) !== mt) {
            m.vmBug('§3.1 free lists', `block on the ${mt} list of a pageblock of type ${get_pfnblock_migratetype(m, p)}`, p);
          }
          for (let i = 0; i < 1 << order; i++) {
            const q = p + i;
            if (where[q] !== 0) m.vmBug('§3.1 one place', 'free page on two free lists', q);
            where[q] = i === 0 ? 1 : 2;
            if (mm.refcount[q] !== 0) m.vmBug('§3.2 free refcount', 'free page with nonzero refcount', q);
            if (i > 0 && mm.mapcount[q] !== -1) m.vmBug('§3.2 buddy head', 'page inside a free block has a type or mapcount', q);
            if ((mm.lru[q]! & TAIL) !== 0) m.vmBug('§3.2 free tail', 'free page is a tail page', q);
            if ((mm.flags[q]! & PREP_FLAGS) !== 0) m.vmBug('§3.5 free flags', 'free page has flags set', q);
          }
          if (mt !== MIGRATE_ISOLATE) free += 1 << order;
          if (mt === MIGRATE_CMA) cma += 1 << order;
          checkMerged(m, p, order);
        }
        if (n !== z.free_list.counts[li]) m.vmBug('§3.4 list counts', `${z.name} free_list[${order}][${mt}] holds ${n}, counted ${z.free_list.counts[li]}`);
        blocks += n;
      }
      if (blocks !== z.nr_free[order]) m.vmBug('§3.4 nr_free', `${z.name} order ${order}: ${blocks} blocks on lists, nr_free ${z.nr_free[order]}`);
    }
    if (free !== z.vmstat[NR_ZONE.nr_free_pages]) m.vmBug('§11.1 NR_FREE_PAGES', `${z.name}: ${free} pages on lists, NR_FREE_PAGES ${z.vmstat[NR_ZONE.nr_free_pages]}`);
    if (cma !== z.vmstat[NR_ZONE.nr_free_cma]) m.vmBug('§11.1 NR_FREE_CMA', `${z.name}: cma mismatch`);
    for (const pcp of z.per_cpu_pageset) {
      let count = 0;
      for (let pi = 0; pi < NR_PCP_LISTS; pi++) {
        const order = pindex_to_order(pi);
        for (let p = pcp.lists.heads[pi]!; p >= 0; p = list_next(mm.lru, p)) {
          for (let i = 0; i < 1 << order; i++) {
            if (where[p + i] !== 0) m.vmBug('§3.1 one place', 'page on a pcp list and another list', p + i);
            where[p + i] = 3;
            if (mm.refcount[p + i] !== 0) m.vmBug('§3.2 free refcount', 'pcp page with nonzero refcount', p + i);
          }
          if (mm.mapcount[p] !== -1) m.vmBug('§3.1 pcp', 'pcp page has a page type', p);
          count += 1 << order;
        }
      }
      if (count !== pcp.count) m.vmBug('§3.4 pcp count', `${z.name} pcp count ${pcp.count}, lists hold ${count}`);
    }
  }
  return where;
}

/** §3.3: a free block never has a free, mergeable buddy of the same order. */
function checkMerged(m: Machine, p: number, order: number): void {
  if (order >= MAX_PAGE_ORDER) return;
  const b = p ^ (1 << order);
  const mm = m.memmap;
  if (b >= mm.flags.length || mm.mapcount[b] !== BUDDY || mm.private[b] !== order) return;
  if (mm.flags[b]! >>> 24 !== mm.flags[p]! >>> 24) return;
  if (order >= pageblock_order) {
    const a = get_pfnblock_migratetype(m, p);
    const c = get_pfnblock_migratetype(m, b);
    if (a !== c && (!migratetype_is_mergeable(a) || !migratetype_is_mergeable(c))) return;
  }
  m.vmBug('§3.3 merged', `free buddies ${p} and ${b} of order ${order} left unmerged`, p);
}

/** §1 and §2: per-page rules. */
function checkPages(m: Machine, where: Uint8Array): void {
  const { flags, lru, mapcount, mapping, refcount } = m.memmap;
  const n = flags.length;
  const strategy = m.strategy;
  for (let p = 0; p < n; p++) {
    const f = flags[p]!;
    if (f >>> 24 === 0xff) continue;
    const w = lru[p]!;
    const v = mapcount[p]!;
    if ((w & TAIL) !== 0) {
      const h = (w >>> 2) - 1;
      if (h >= n || (flags[h]! & HEAD_FLAG) === 0) m.vmBug('§1.1 tail', 'tail page whose head lacks PG_head', p);
      const order = flags[h + 1]! & 0xff;
      if (order < 1 || p - h >= 1 << order || p <= h) m.vmBug('§1.1 tail', `tail outside its head's order-${order} folio`, p);
      if (v < TYPED_LIMIT) m.vmBug('§1.2 tail type', 'tail page carries a page type', p);
      if (refcount[p] !== 0) m.vmBug('§2.4 tail refcount', 'tail page with its own refcount', p);
      continue;
    }
    if (v < TYPED_LIMIT) {
      const t = v >>> 24;
      if (v === BUDDY) {
        if (where[p] !== 1) m.vmBug('§3.1 one place', 'PageBuddy page on no free list', p);
      } else if (!KNOWN_TYPES.has(t) && !m.experimentalMovableOpsTypes.includes(t)) {
        m.vmBug('§1.2 page_type', `unknown page type 0x${t.toString(16)}`, p);
      } else if ((t === T_OFFLINE || t === T_ZSMALLOC) && (f & ISOLATED_FLAG) !== 0 && (f & MOVABLE_OPS_FLAG) === 0) {
        m.vmBug('§1.4 movable_ops', 'PG_movable_ops_isolated without PG_movable_ops', p);
      }
    }
    if ((mapping[p]! & 3) === 2) m.vmBug('§1.5 mapping', 'mapping low bits == 2 (removed PAGE_MAPPING_MOVABLE)', p);
    if ((f & HEAD_FLAG) !== 0 && (flags[p + 1]! & 0xff) === 0) m.vmBug('§1.1 head', 'PG_head with order 0', p);
    if (refcount[p]! < 0) m.vmBug('§2 refcount', 'negative refcount', p);
    if ((w & TAG_MASK) === OWNER_TAG) {
      if (strategy !== 'owner-ops') m.vmBug('§2.5 owner ops', 'owner-ops tag under the mainline strategy', p);
      if (m.ownerOps.get(w >>> 2) === undefined) m.vmBug('§2.5 owner ops', 'owner-ops word names no installed ops', p);
    }
  }
}

/** LRU bookkeeping: every evictable PG_lru folio is on its node's list; list lengths match the counters. */
function checkLru(m: Machine): void {
  const mm = m.memmap;
  for (const node of m.nodes) {
    for (let lru = 0; lru < NR_LRU_LISTS; lru++) {
      if (lru === LRU.UNEVICTABLE) continue;
      let n = 0;
      for (let f = node.lruvec.heads[lru]!; f >= 0; f = list_next(mm.lru, f)) {
        if ((mm.flags[f]! & (1 << PG.lru)) === 0) m.vmBug('LRU', 'folio on an LRU list without PG_lru', f);
        if (mm.refcount[f]! <= 0) m.vmBug('§2.1 LRU refcount', 'folio on an LRU with refcount 0', f);
        n += (mm.flags[f]! & (1 << PG.head)) !== 0 ? mm.private[f + 1]! : 1;
      }
      if (n !== node.vmstat[NR_NODE.nr_inactive_anon + lru]) m.vmBug('LRU counters', `node ${node.node_id} list ${lru}: ${n} pages, counter ${node.vmstat[NR_NODE.nr_inactive_anon + lru]}`);
    }
  }
}
