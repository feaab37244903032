import {
  NR_PCP_LISTS,
  PG,
  PGTY,
  list_next,
  pindex_to_order,
  type Machine,
  type Pfn,
} from '@mm/core';
import { CORE_KIND, CORE_KINDS, type PageOwnerKind } from './owner-kind.js';
import type { PageOwnerDescriber } from './page-owner-describer.js';

/**
 * Classify every PFN of a machine by owner, from the memmap words and the owners' describers.
 *
 * @module
 */

/** What {@link classifyPages} returns. */
export interface PageOwnerMap {
  /** The kinds: the core's ({@link CORE_KINDS}) then each describer's, in order. */
  readonly kinds: readonly PageOwnerKind[];
  /** Per PFN, the index of its kind in {@link kinds}. */
  readonly owner: Uint8Array;
  /** Pages of each kind. */
  readonly counts: Float64Array;
}

const TYPED_LIMIT = 0xff000000 | 0;
const BUDDY_WORD = (PGTY.buddy << 24) | 0;
const OFFLINE = PGTY.offline;
const HEAD = 1 << PG.head;
const LRU_FLAG = 1 << PG.lru;
const SWAPBACKED = 1 << PG.swapbacked;
const RESERVED = 1 << PG.reserved;
const PCP_MARK = 0xff;

/**
 * The owner of every PFN of `m`, in this order of precedence:
 * - no struct page (a hole);
 * - inside a free buddy block (PageBuddy head, order in `private`): `buddy free order N`;
 * - on a per-CPU free list;
 * - otherwise per folio (a large folio's tails take their head's kind): the first describer whose
 *   classifier claims the head; else PG_reserved; PG_lru (anon if PG_swapbacked, else file);
 *   PageOffline; another page type; refcount > 0 (plain allocation); refcount 0 (on no list).
 *
 * The walk reads the memmap and the free lists only; the machine is not changed.
 */
export function classifyPages(m: Machine, describers: readonly PageOwnerDescriber[]): PageOwnerMap {
  const kinds: PageOwnerKind[] = [...CORE_KINDS];
  const classifiers: { base: number; fn: (head: Pfn) => number }[] = [];
  for (const d of describers) {
    classifiers.push({ base: kinds.length, fn: d.classifier(m) });
    kinds.push(...d.kinds);
  }
  if (kinds.length > PCP_MARK) throw new RangeError(`too many owner kinds (${kinds.length}, at most ${PCP_MARK})`);
  const { flags, lru, mapcount, private: priv, refcount } = m.memmap;
  const n = flags.length;
  const owner = new Uint8Array(n);
  markPcpPages(m, owner);
  const classifyHead = (p: number, f: number): number => {
    for (const c of classifiers) {
      const k = c.fn(p as Pfn);
      if (k >= 0) return c.base + k;
    }
    if ((f & RESERVED) !== 0) return CORE_KIND.reserved;
    if ((f & LRU_FLAG) !== 0) return (f & SWAPBACKED) !== 0 ? CORE_KIND.lruAnon : CORE_KIND.lruFile;
    const v = mapcount[p]!;
    if (v < TYPED_LIMIT) return v >>> 24 === OFFLINE ? CORE_KIND.offline : CORE_KIND.typed;
    return refcount[p]! > 0 ? CORE_KIND.allocated : CORE_KIND.unowned;
  };
  let pfn = 0;
  while (pfn < n) {
    const f = flags[pfn]!;
    if (f >>> 24 === 0xff) {
      owner[pfn++] = CORE_KIND.hole;
      continue;
    }
    if (owner[pfn] === PCP_MARK) {
      owner[pfn++] = CORE_KIND.pcp;
      continue;
    }
    if (mapcount[pfn] === BUDDY_WORD) {
      const order = priv[pfn]!;
      const end = Math.min(n, pfn + 2 ** order);
      owner.fill(CORE_KIND.buddy + Math.min(order, CORE_KIND.pcp - CORE_KIND.buddy - 1), pfn, end);
      pfn = end;
      continue;
    }
    const w = lru[pfn]!;
    if ((w & 1) !== 0) {
      // A tail whose head was not walked before it (a corrupted memmap): classify it on its own.
      owner[pfn] = classifyHead(pfn, f);
      pfn++;
      continue;
    }
    const kind = classifyHead(pfn, f);
    let end = pfn + 1;
    if ((f & HEAD) !== 0 && pfn + 1 < n) {
      const order = flags[pfn + 1]! & 0xff;
      end = Math.min(n, pfn + 2 ** order);
      // Only pages that really are this folio's tails take its kind.
      const tailWord = (pfn + 1) * 4 + 1;
      let q = pfn + 1;
      while (q < end && lru[q] === tailWord) q++;
      end = q;
    }
    owner.fill(kind, pfn, end);
    pfn = end;
  }
  const counts = new Float64Array(kinds.length);
  for (let p = 0; p < n; p++) counts[owner[p]!]!++;
  return { kinds, owner, counts };
}

/** Mark the pages on every zone's per-CPU lists with `PCP_MARK`. */
function markPcpPages(m: Machine, owner: Uint8Array): void {
  const lru = m.memmap.lru;
  for (const z of m.zones) {
    for (const pcp of z.per_cpu_pageset) {
      for (let pi = 0; pi < NR_PCP_LISTS; pi++) {
        const nr = 2 ** pindex_to_order(pi);
        for (let p = pcp.lists.heads[pi]!; p >= 0; p = list_next(lru, p)) owner.fill(PCP_MARK, p, Math.min(owner.length, p + nr));
      }
    }
  }
}
