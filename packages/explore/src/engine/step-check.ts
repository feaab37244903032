import { MIGRATE_ISOLATE, MIGRATE_TYPES, NR_NODE, NR_PCP_LISTS, list_next, pindex_to_order, NR_PAGE_ORDERS, NR_ZONE, PG, PGTY, VmBugError, type Machine } from '@mm/core';

/**
 * The explorer's per-step check: the subset of the core's `CONFIG_DEBUG_VM` invariants that concerns
 * the pages a scenario's tasks touch, plus every global counter, cheap enough to run after every
 * step (the full `m.checkInvariants` walks the whole memmap and every free list). A rule broken here
 * is also broken for `check_invariants`, which the caller then runs to report the same violation a
 * replay (full checks after every step) reports.
 *
 * Per tracked page (and every page of the folio it heads): a tail's head has PG_head and the tail
 * lies inside the head's order; a tail has no page type and no refcount of its own; no negative
 * refcount; a PageBuddy page is not referenced and carries no flags that must be clear on free;
 * no `mapping` with the removed PAGE_MAPPING_MOVABLE bits; PG_movable_ops_isolated only with
 * PG_movable_ops and the isolation reference; a mapped folio holds a reference per mapping.
 * Globals, per zone: `nr_free[order]` is the number of blocks on that order's free lists,
 * NR_FREE_PAGES the pages on the non-isolated lists; every pcp list (short) is walked: its pages are
 * free (refcount 0, no page type) and its count matches; per node: NR_ISOLATED_*
 * never negative, no negative LRU list.
 *
 * @module
 */

// Module-local copies of the core's constants, read once: in the hot loops below an imported
// binding is a getter call per access under the CommonJS transpilation tsx and vitest use (about a
// fifth of a search's time before these copies).
const N_ORDERS = NR_PAGE_ORDERS;
const N_MT = MIGRATE_TYPES;
const MT_ISOLATE = MIGRATE_ISOLATE;
const N_PCP = NR_PCP_LISTS;
const nextOnList = list_next;
const PCP_ORDER = Array.from({ length: N_PCP }, (_, i) => pindex_to_order(i));
const NR_FREE_PAGES = NR_ZONE.nr_free_pages;
const NR_ISOLATED_ANON = NR_NODE.nr_isolated_anon;
const NR_ISOLATED_FILE = NR_NODE.nr_isolated_file;
const TAIL = 1;
const HEAD_FLAG = 1 << PG.head;
const ISOLATED_FLAG = 1 << PG.movable_ops_isolated;
const MOVABLE_OPS_FLAG = 1 << PG.movable_ops;
const TYPED_LIMIT = 0xff000000 | 0;
const BUDDY = (PGTY.buddy << 24) | 0;

function bug(invariant: string, message: string, pfn?: number): never {
  throw new VmBugError(invariant, message, pfn === undefined ? '' : `pfn ${pfn}`);
}

function checkPage(mm: Machine['memmap'], p: number): void {
  const { flags, lru, lruPrev, mapcount, mapping, refcount } = mm;
  const n = flags.length;
  const f = flags[p]!;
  if (f >>> 24 === 0xff) return;
  const w = lru[p]!;
  const v = mapcount[p]!;
  if ((w & TAIL) !== 0) {
    const h = (w >>> 2) - 1;
    if (h >= n || (flags[h]! & HEAD_FLAG) === 0) bug('§1.1 tail', 'tail page whose head lacks PG_head', p);
    const order = flags[h + 1]! & 0xff;
    if (order < 1 || p - h >= 1 << order || p <= h) bug('§1.1 tail', `tail outside its head's order-${order} folio`, p);
    if (v < TYPED_LIMIT) bug('§1.2 tail type', 'tail page carries a page type', p);
    if (refcount[p] !== 0) bug('§2.4 tail refcount', 'tail page with its own refcount', p);
    return;
  }
  if (refcount[p]! < 0) bug('§2 refcount', 'negative refcount', p);
  if ((mapping[p]! & 3) === 2) bug('§1.5 mapping', 'mapping low bits == 2 (removed PAGE_MAPPING_MOVABLE)', p);
  if ((f & HEAD_FLAG) !== 0 && (flags[p + 1]! & 0xff) === 0) bug('§1.1 head', 'PG_head with order 0', p);
  if (v === BUDDY && refcount[p] !== 0) bug('§3.2 free refcount', 'free page with nonzero refcount', p);
  if (v < TYPED_LIMIT) {
    if ((f & ISOLATED_FLAG) !== 0 && ((f & MOVABLE_OPS_FLAG) === 0 || refcount[p]! < 1)) {
      bug('§9.1 movable_ops isolation', 'PG_movable_ops_isolated without PG_movable_ops or without the isolation reference', p);
    }
    return;
  }
  const mc = (f & HEAD_FLAG) !== 0 ? (lruPrev[p + 1]! | 0) + 1 : v + 1;
  if (mc > 0 && refcount[p]! < mc) bug('§2.5 mapped folio references', `folio mapped ${mc} times holds ${refcount[p]} references`, p);
}

/** Check the tracked pages `pfns` (with their folios' tail pages) and the global counters of `m`. */
export function stepCheck(m: Machine, pfns: Iterable<number>): void {
  const mm = m.memmap;
  const { flags, lru, mapcount, refcount } = mm;
  const n = flags.length;
  for (const p of pfns) {
    if (p < 0 || p >= n) continue;
    checkPage(mm, p);
    if ((flags[p]! & HEAD_FLAG) !== 0 && p + 1 < n) {
      const order = flags[p + 1]! & 0xff;
      const nr = 1 << order;
      const tailWord = (((p + 1) << 2) | TAIL) >>> 0;
      for (let q = p + 1; q < p + nr && q < n; q++) {
        // A tail that points at this head (order >= 1, q inside it): checkPage's tail rules reduce
        // to "no page type, no refcount of its own"; anything else takes the whole checkPage.
        if (order >= 1 && lru[q] === tailWord && flags[q]! >>> 24 !== 0xff) {
          if (mapcount[q]! < TYPED_LIMIT) bug('§1.2 tail type', 'tail page carries a page type', q);
          if (refcount[q] !== 0) bug('§2.4 tail refcount', 'tail page with its own refcount', q);
        } else checkPage(mm, q);
      }
    }
  }
  for (const z of m.zones) {
    let free = 0;
    for (let order = 0; order < N_ORDERS; order++) {
      let blocks = 0;
      for (let mt = 0; mt < N_MT; mt++) {
        const c = z.free_list.counts[order * N_MT + mt]!;
        blocks += c;
        if (mt !== MT_ISOLATE) free += c << order;
      }
      if (blocks !== z.nr_free[order]) bug('§3.4 nr_free', `${z.name} order ${order}: ${blocks} blocks on lists, nr_free ${z.nr_free[order]}`);
    }
    if (free !== z.vmstat[NR_FREE_PAGES]) bug('§11.1 NR_FREE_PAGES', `${z.name}: ${free} pages on lists, NR_FREE_PAGES ${z.vmstat[NR_FREE_PAGES]}`);
    for (const pcp of z.per_cpu_pageset) {
      let count = 0;
      for (let pi = 0; pi < N_PCP; pi++) {
        const order = PCP_ORDER[pi]!;
        for (let p = pcp.lists.heads[pi]!; p >= 0 && count <= pcp.count; p = nextOnList(lru, p)) {
          for (let i = 0; i < 1 << order; i++) if (refcount[p + i] !== 0) bug('§3.2 free refcount', 'pcp page with nonzero refcount', p + i);
          if (mapcount[p] !== -1) bug('§3.1 pcp', 'pcp page has a page type', p);
          count += 1 << order;
        }
      }
      if (count !== pcp.count) bug('§3.4 pcp count', `${z.name} pcp count ${pcp.count}, lists hold ${count}`);
    }
  }
  for (const node of m.nodes) {
    if (node.vmstat[NR_ISOLATED_ANON]! < 0 || node.vmstat[NR_ISOLATED_FILE]! < 0) {
      bug('§9 NR_ISOLATED', `node ${node.node_id}: NR_ISOLATED_ANON ${node.vmstat[NR_ISOLATED_ANON]}, NR_ISOLATED_FILE ${node.vmstat[NR_ISOLATED_FILE]}`);
    }
    for (const c of node.lruvec.counts) if (c < 0) bug('LRU counters', `node ${node.node_id}: negative LRU list length`);
  }
}
