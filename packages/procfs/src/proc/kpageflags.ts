import { PAGEFLAGS_MASK, PAGES_PER_SECTION, PG, PGTY, ZONE, type Machine, type Pfn } from '@mm/core';
import {
  KPF_ACTIVE,
  KPF_ANON,
  KPF_ARCH,
  KPF_BUDDY,
  KPF_COMPOUND_HEAD,
  KPF_COMPOUND_TAIL,
  KPF_DIRTY,
  KPF_HUGE,
  KPF_HWPOISON,
  KPF_IDLE,
  KPF_KSM,
  KPF_LOCKED,
  KPF_LRU,
  KPF_MLOCKED,
  KPF_MMAP,
  KPF_OFFLINE,
  KPF_OWNER_2,
  KPF_OWNER_PRIVATE,
  KPF_PGTABLE,
  KPF_PRIVATE,
  KPF_PRIVATE_2,
  KPF_RECLAIM,
  KPF_REFERENCED,
  KPF_RESERVED,
  KPF_SLAB,
  KPF_SWAPBACKED,
  KPF_SWAPCACHE,
  KPF_THP,
  KPF_UNEVICTABLE,
  KPF_UPTODATE,
  KPF_WRITEBACK,
} from './kpf.js';

/**
 * `/proc/kpageflags` and `/proc/kpagecount` (`fs/proc/page.c`, v6.18): one little-endian u64 per
 * PFN from 0 to `get_max_dump_pfn()`. A PFN without an online memmap (`pfn_to_online_page()` fails:
 * a hole, an offlined section, or ZONE_DEVICE) reads 0 in both files. Differences: the model's memmap ends at `max_pfn`,
 * so the rest of the last memory section reads 0 where a kernel shows PG_reserved pages; there is no
 * shared zero page, so KPF_ZERO_PAGE is never set.
 *
 * @module
 */

const TYPED_LIMIT = 0xff000000 | 0;
const BUDDY_WORD = (PGTY.buddy << 24) | 0;
const HEAD = 1 << PG.head;
const SWAPCACHE = (1 << PG.swapbacked) | (1 << PG.swapcache);
const LARGE_RMAPPABLE = 1 << PG.large_rmappable;
const NO_ZONE = 0xff;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * `get_max_dump_pfn()` (`fs/proc/page.c`): `max_pfn` rounded up to a memory section (SPARSEMEM), the
 * number of entries in `/proc/kpageflags`, `/proc/kpagecount` and `/proc/kpagecgroup`.
 */
export function get_max_dump_pfn(m: Machine): number {
  return Math.ceil(m.max_pfn / PAGES_PER_SECTION) * PAGES_PER_SECTION;
}

/**
 * `is_free_buddy_page(page)` (`mm/page_alloc.c`): `pfn` lies inside a free buddy block, i.e. some
 * aligned PFN at or below it heads a free block (PageBuddy) of an order that covers it.
 */
export function is_free_buddy_page(m: Machine, pfn: Pfn): boolean {
  const { mapcount, private: priv, refcount } = m.memmap;
  if (refcount[pfn] !== 0) return false;
  for (let order = 0; order <= 10; order++) {
    const head = pfn & ~((1 << order) - 1);
    if (mapcount[head] === BUDDY_WORD && priv[head]! >= order) return true;
  }
  return false;
}

/**
 * Fill the entries of PFNs `[from, to)` into `kflags` / `kcount` (two 32-bit words per PFN, low word
 * first; an empty array skips that file; PFNs without an online memmap stay 0). `inFree` says whether
 * `from` lies inside a free buddy block that starts before it; later blocks are found as their
 * PageBuddy heads go by. One loop serves the bulk files and `stable_page_flags`.
 */
function fillKpf(m: Machine, from: number, to: number, inFree: boolean, kflags: Uint32Array, kcount: Uint32Array): void {
  const { flags, lru, lruPrev, mapping, mapcount, private: priv } = m.memmap;
  const wantFlags = kflags.length > 0;
  const wantCount = kcount.length > 0;
  let buddyEnd = inFree ? from + 1 : 0;
  const end = Math.min(to, flags.length);
  for (let pfn = from; pfn < end; pfn++) {
    const f = flags[pfn]!;
    const top = f >>> 24;
    if (top === NO_ZONE || (top & 7) === ZONE.DEVICE) continue; // pfn_to_online_page() fails
    const raw = mapcount[pfn]!;
    if (raw === BUDDY_WORD) buddyEnd = pfn + (1 << priv[pfn]!);
    const w = lru[pfn]!;
    const i = 2 * (pfn - from);
    if ((f & PAGEFLAGS_MASK) === 0 && (w & 1) === 0 && raw === -1 && (mapping[pfn]! & 1) === 0) {
      // The common case (a free page, or a plain unmapped page): no flag but BUDDY, mapcount 0.
      if (wantFlags && pfn < buddyEnd) kflags[i] = 1 << KPF_BUDDY;
      continue;
    }
    const tail = (w & 1) !== 0;
    const head = tail ? (w >>> 2) - 1 : pfn;
    const k = flags[head]!;
    const large = (k & HEAD) !== 0;
    if (wantCount) {
      // folio_precise_page_mapcount() (fs/proc/internal.h, CONFIG_PAGE_MAPCOUNT): the page's own
      // mapcount (0 if typed), plus the folio's entire mapcount for a large folio.
      let mc = raw < TYPED_LIMIT ? 0 : raw + 1;
      if (large) mc += (mapping[head + 1]! | 0) + 1;
      kcount[i] = mc >>> 0;
      kcount[i + 1] = mc < 0 ? 0xffffffff : 0;
    }
    if (!wantFlags) continue;
    const type = mapcount[head]!;
    const pgty = type < TYPED_LIMIT ? type >>> 24 : 0;
    let u = 0;
    if (large ? (lruPrev[head + 1]! | 0) >= 0 : type >= 0) u |= 1 << KPF_MMAP;
    const map = mapping[head]! & 3;
    if (map & 1) {
      u |= 1 << KPF_ANON;
      if (map === 3) u |= 1 << KPF_KSM;
    }
    if (tail) u |= 1 << KPF_COMPOUND_TAIL;
    else if (large) u |= 1 << KPF_COMPOUND_HEAD;
    const huge = pgty === PGTY.hugetlb;
    if (huge) u |= 1 << KPF_HUGE;
    else if (large && (flags[head + 1]! & LARGE_RMAPPABLE) !== 0) u |= 1 << KPF_THP;
    if (pfn < buddyEnd) u |= 1 << KPF_BUDDY;
    if (pgty === PGTY.offline) u |= 1 << KPF_OFFLINE;
    else if (pgty === PGTY.table) u |= 1 << KPF_PGTABLE;
    else if (pgty === PGTY.slab) u |= 1 << KPF_SLAB;
    u |= ((k >>> PG.idle) & 1) << KPF_IDLE;
    u |= ((k >>> PG.locked) & 1) << KPF_LOCKED;
    u |= ((k >>> PG.dirty) & 1) << KPF_DIRTY;
    u |= ((k >>> PG.uptodate) & 1) << KPF_UPTODATE;
    u |= ((k >>> PG.writeback) & 1) << KPF_WRITEBACK;
    u |= ((k >>> PG.lru) & 1) << KPF_LRU;
    u |= ((k >>> PG.referenced) & 1) << KPF_REFERENCED;
    u |= ((k >>> PG.active) & 1) << KPF_ACTIVE;
    u |= ((k >>> PG.reclaim) & 1) << KPF_RECLAIM;
    if ((k & SWAPCACHE) === SWAPCACHE) u |= 1 << KPF_SWAPCACHE;
    u |= ((k >>> PG.swapbacked) & 1) << KPF_SWAPBACKED;
    u |= ((k >>> PG.unevictable) & 1) << KPF_UNEVICTABLE;
    u |= (((huge ? k : f) >>> PG.hwpoison) & 1) << KPF_HWPOISON;
    kflags[i] = u >>> 0;
    kflags[i + 1] =
      (((k >>> PG.reserved) & 1) << (KPF_RESERVED - 32)) |
      (((k >>> PG.mlocked) & 1) << (KPF_MLOCKED - 32)) |
      (((k >>> PG.owner_2) & 1) << (KPF_OWNER_2 - 32)) |
      (((k >>> PG.private) & 1) << (KPF_PRIVATE - 32)) |
      (((k >>> PG.private_2) & 1) << (KPF_PRIVATE_2 - 32)) |
      (((k >>> PG.owner_priv_1) & 1) << (KPF_OWNER_PRIVATE - 32)) |
      (((k >>> PG.arch_1) & 1) << (KPF_ARCH - 32));
  }
}

/**
 * `stable_page_flags(page)` (`fs/proc/page.c`, v6.17+ snapshot version): the KPF bits of one PFN as a
 * number (bits up to 42, exact in a double), 0 for a PFN without an online memmap (what
 * `kpageflags_read` writes there). Most bits come from the folio (the head page): MMAP, ANON/KSM,
 * HUGE or THP, OFFLINE/PGTABLE/SLAB from its page type, and the copied PG_* bits; COMPOUND_TAIL,
 * BUDDY (any page inside a free block) and HWPOISON (unless hugetlb) are the page's own.
 */
export function stable_page_flags(m: Machine, pfn: Pfn): number {
  const out = new Uint32Array(2);
  fillKpf(m, pfn, pfn + 1, is_free_buddy_page(m, pfn), out, new Uint32Array(0));
  return out[1]! * 2 ** 32 + out[0]!;
}

/** One pass over the memmap producing both files' entries as 32-bit word pairs (little-endian order). */
function kpageDump(m: Machine, wantFlags: boolean, wantCount: boolean): { flags: Uint32Array; count: Uint32Array } {
  const n = get_max_dump_pfn(m);
  const kflags = new Uint32Array(wantFlags ? 2 * n : 0);
  const kcount = new Uint32Array(wantCount ? 2 * n : 0);
  fillKpf(m, 0, n, false, kflags, kcount);
  if (!LITTLE_ENDIAN) {
    for (const a of [kflags, kcount]) for (let i = 0; i < a.length; i++) a[i] = byteSwap32(a[i]!);
  }
  return { flags: kflags, count: kcount };
}

function byteSwap32(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

function bytes(a: Uint32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * `kpageflags_read()` (`fs/proc/page.c`): the whole of `/proc/kpageflags`, `stable_page_flags` of
 * every PFN below `get_max_dump_pfn()` as a little-endian u64.
 */
export function kpageflags_read(m: Machine): Uint8Array {
  return bytes(kpageDump(m, true, false).flags);
}

/**
 * `kpagecount_read()` (`fs/proc/page.c`): the whole of `/proc/kpagecount`, each page's mapcount
 * (`folio_precise_page_mapcount`: the page's own `_mapcount + 1`, 0 if typed, plus the folio's entire
 * mapcount for a large folio) as a little-endian u64 — not its `_refcount`.
 */
export function kpagecount_read(m: Machine): Uint8Array {
  return bytes(kpageDump(m, false, true).count);
}

/** Both files from one pass over the memmap (what a snapshot writes). */
export function kpageflagsAndCount(m: Machine): {
  /** The contents of `/proc/kpageflags`, as {@link kpageflags_read} returns them. */
  kpageflags: Uint8Array;
  /** The contents of `/proc/kpagecount`, as {@link kpagecount_read} returns them. */
  kpagecount: Uint8Array;
} {
  const d = kpageDump(m, true, true);
  return { kpageflags: bytes(d.flags), kpagecount: bytes(d.count) };
}
