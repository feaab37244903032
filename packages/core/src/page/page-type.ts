import { MmError } from '../debug/mm-error.js';
import { EINVAL } from '../errno.js';
import type { Machine } from '../machine/machine.js';
import type { Folio, Pfn } from '../types.js';

/**
 * Page types (`enum pagetype`, `include/linux/page-flags.h`, v6.17): the top byte of the 32-bit
 * `page_type`, which overlays `_mapcount`. `UINT_MAX` (0xffffffff, `_mapcount == -1`) means "no
 * type". Values 0xf9–0xfe are free in the kernel's enum; a plugin may claim one for experiments
 * (see {@link PGTY_FIRST_FREE}).
 */
export const PGTY = {
  /**
   * `PGTY_buddy`: `PageBuddy`, the first page of a free block on the buddy lists (its order is in
   * `page->private`).
   */
  buddy: 0xf0,
  /**
   * `PGTY_offline`: `PageOffline`, a logically offline page (inflated into a balloon, hot-unplugged or not
   * yet onlined memory).
   */
  offline: 0xf1,
  /** `PGTY_table`: `PageTable`, a page-table page. */
  table: 0xf2,
  /** `PGTY_guard`: `PageGuard`, a `debug_pagealloc` guard page split off a free block and kept unused. */
  guard: 0xf3,
  /** `PGTY_hugetlb`: the head page of a hugetlb folio (`folio_test_hugetlb`, `PageHuge`). */
  hugetlb: 0xf4,
  /** `PGTY_slab`: the head page of a slab (`folio_test_slab`, `PageSlab`). */
  slab: 0xf5,
  /** `PGTY_zsmalloc`: `PageZsmalloc`, a page of a zsmalloc zspage. */
  zsmalloc: 0xf6,
  /**
   * `PGTY_unaccepted`: `PageUnaccepted`, memory a confidential-computing guest (TDX, SEV-SNP) has not
   * accepted yet.
   */
  unaccepted: 0xf7,
  /**
   * `PGTY_large_kmalloc`: the head of a `kmalloc` allocation too large for the slab caches, taken from the
   * page allocator.
   */
  large_kmalloc: 0xf8,
  /**
   * `PGTY_mapcount_underflow`: not a type but the top byte of a negative `_mapcount` (-1, i.e. `UINT_MAX`,
   * means no type).
   */
  mapcount_underflow: 0xff,
} as const;

/** The first PGTY value the kernel does not use; plugin-defined types take values from here to 0xfe. */
export const PGTY_FIRST_FREE = 0xf9;

/** `page_type` with no type set: `UINT_MAX`, i.e. `_mapcount == -1` (signed view: -1). */
export const PAGE_TYPE_NONE = -1;

/** Low 24 bits of `page_type` that the owner of a typed page may use (zsmalloc's `first_obj_offset`). */
export const PAGE_TYPE_DATA_MASK = 0xffffff;

const TYPED_LIMIT = 0xff000000 | 0; // signed: -16777216

/**
 * `page_has_type` (`include/linux/page-flags.h`): the top byte of `page_type` is a PGTY value
 * (0x80–0xfe), i.e. the signed `page_type` is below `0xff000000`.
 */
export function page_has_type(m: Machine, pfn: Pfn): boolean {
  return m.memmap.mapcount[pfn]! < TYPED_LIMIT;
}

/** `folio_test_type` (`include/linux/page-flags.h`): the folio's head page has a type. */
export function folio_test_type(m: Machine, folio: Folio): boolean {
  return m.memmap.mapcount[folio]! < TYPED_LIMIT;
}

/**
 * The PGTY value of a page (top byte of `page_type`), or `null` if the page has no type. Models
 * `page_get_type()` / `data_race(page->page_type >> 24)` in `include/linux/page-flags.h`.
 */
export function page_get_type(m: Machine, pfn: Pfn): number | null {
  const v = m.memmap.mapcount[pfn]!;
  return v < TYPED_LIMIT ? v >>> 24 : null;
}

/** True if `pfn` has page type `type` (`page_type >> 24 == type`). */
export function pageTypeIs(m: Machine, pfn: Pfn, type: number): boolean {
  return m.memmap.mapcount[pfn]! >>> 24 === type && m.memmap.mapcount[pfn]! < TYPED_LIMIT;
}

/**
 * Set page type `type` on `pfn`, as `__SetPage##uname` / `__folio_set_##fname` do
 * (`include/linux/page-flags.h`): a no-op if the page already has it; otherwise the field must be
 * "no type", else `MmError(EINVAL)` — the kernel's
 * `VM_BUG_ON_FOLIO(data_race(folio->page.page_type) != UINT_MAX)`. The low 24 bits start at 0.
 */
export function set_page_type(m: Machine, pfn: Pfn, type: number): void {
  const v = m.memmap.mapcount[pfn]!;
  if (v < TYPED_LIMIT && v >>> 24 === type) return;
  if (v !== PAGE_TYPE_NONE) {
    const what = v < TYPED_LIMIT ? `type 0x${(v >>> 24).toString(16)}` : `_mapcount ${v}`;
    throw new MmError(EINVAL, `cannot set page type 0x${type.toString(16)}: page already has ${what}`, {
      pfn,
      rule: '§1.3 setting a page type requires page_type == UINT_MAX',
    });
  }
  m.memmap.mapcount[pfn] = (type << 24) | 0;
}

/**
 * Clear page type `type`, as `__ClearPage##uname` / `__folio_clear_##fname` do
 * (`include/linux/page-flags.h`): a no-op if the page has no type; otherwise it must have `type`,
 * else `MmError(EINVAL)`. Leftover low bits never survive.
 */
export function clear_page_type(m: Machine, pfn: Pfn, type: number): void {
  const v = m.memmap.mapcount[pfn]!;
  if (v === PAGE_TYPE_NONE) return;
  if (!(v < TYPED_LIMIT && v >>> 24 === type)) {
    throw new MmError(EINVAL, `cannot clear page type 0x${type.toString(16)}: page_type is 0x${(v >>> 0).toString(16)}`, {
      pfn,
      rule: '§1.3 clearing a page type requires that type',
    });
  }
  m.memmap.mapcount[pfn] = PAGE_TYPE_NONE;
}

/** The owner's 24 bits of a typed page's `page_type` (e.g. zsmalloc's `first_obj_offset`). */
export function pageTypeData(m: Machine, pfn: Pfn): number {
  return m.memmap.mapcount[pfn]! & PAGE_TYPE_DATA_MASK;
}

/** Store the owner's 24 bits of a typed page's `page_type`; the type byte is kept. */
export function setPageTypeData(m: Machine, pfn: Pfn, data: number): void {
  const v = m.memmap.mapcount[pfn]!;
  if (!(v < TYPED_LIMIT) || data < 0 || data > PAGE_TYPE_DATA_MASK) {
    throw new MmError(EINVAL, `page type data ${data} needs a typed page and a 24-bit value`, {
      pfn,
      rule: '§1.6 owners may use the low 24 bits of a typed page',
    });
  }
  m.memmap.mapcount[pfn] = (v & ~PAGE_TYPE_DATA_MASK) | data;
}

/** One row of the page-type table: PGTY value, `PageX` name (null: folio helpers only), folio name. */
export interface PageTypeDef {
  /** The PGTY value. */
  readonly type: number;
  /** CamelCase name for `PageX`/`__SetPageX`/`__ClearPageX`, or null for `FOLIO_TYPE_OPS` types. */
  readonly uname: string | null;
  /** Name used by `folio_test_X`/`__folio_set_X`/`__folio_clear_X`. */
  readonly fname: string;
}

/**
 * The page-type table from which the helpers are generated, like `PAGE_TYPE_OPS()` and
 * `FOLIO_TYPE_OPS()` in `include/linux/page-flags.h`.
 */
export const PAGETYPE_TABLE = {
  /** Page type `PGTY_buddy` and its helpers. */
  buddy: {
    /** Type value `PGTY_buddy`. */
    type: PGTY.buddy,
    /** Names `PageBuddy`, `__SetPageBuddy`, `__ClearPageBuddy`. */
    uname: 'Buddy',
    /** Names `folio_test_buddy`, `__folio_set_buddy`, `__folio_clear_buddy`. */
    fname: 'buddy',
  },
  /** Page type `PGTY_offline` and its helpers. */
  offline: {
    /** Type value `PGTY_offline`. */
    type: PGTY.offline,
    /** Names `PageOffline`, `__SetPageOffline`, `__ClearPageOffline`. */
    uname: 'Offline',
    /** Names `folio_test_offline`, `__folio_set_offline`, `__folio_clear_offline`. */
    fname: 'offline',
  },
  /** Page type `PGTY_table` and its helpers. */
  table: {
    /** Type value `PGTY_table`. */
    type: PGTY.table,
    /** Names `PageTable`, `__SetPageTable`, `__ClearPageTable`. */
    uname: 'Table',
    /** Names `folio_test_pgtable`, `__folio_set_pgtable`, `__folio_clear_pgtable`. */
    fname: 'pgtable',
  },
  /** Page type `PGTY_guard` and its helpers. */
  guard: {
    /** Type value `PGTY_guard`. */
    type: PGTY.guard,
    /** Names `PageGuard`, `__SetPageGuard`, `__ClearPageGuard`. */
    uname: 'Guard',
    /** Names `folio_test_guard`, `__folio_set_guard`, `__folio_clear_guard`. */
    fname: 'guard',
  },
  /** Page type `PGTY_hugetlb` and its helpers. */
  hugetlb: {
    /** Type value `PGTY_hugetlb`. */
    type: PGTY.hugetlb,
    /** `null`: the kernel has folio helpers only (`FOLIO_TYPE_OPS`). */
    uname: null,
    /** Names `folio_test_hugetlb`, `__folio_set_hugetlb`, `__folio_clear_hugetlb`. */
    fname: 'hugetlb',
  },
  /** Page type `PGTY_slab` and its helpers. */
  slab: {
    /** Type value `PGTY_slab`. */
    type: PGTY.slab,
    /** `null`: the kernel has folio helpers only (`FOLIO_TYPE_OPS`). */
    uname: null,
    /** Names `folio_test_slab`, `__folio_set_slab`, `__folio_clear_slab`. */
    fname: 'slab',
  },
  /** Page type `PGTY_zsmalloc` and its helpers. */
  zsmalloc: {
    /** Type value `PGTY_zsmalloc`. */
    type: PGTY.zsmalloc,
    /** Names `PageZsmalloc`, `__SetPageZsmalloc`, `__ClearPageZsmalloc`. */
    uname: 'Zsmalloc',
    /** Names `folio_test_zsmalloc`, `__folio_set_zsmalloc`, `__folio_clear_zsmalloc`. */
    fname: 'zsmalloc',
  },
  /** Page type `PGTY_unaccepted` and its helpers. */
  unaccepted: {
    /** Type value `PGTY_unaccepted`. */
    type: PGTY.unaccepted,
    /** Names `PageUnaccepted`, `__SetPageUnaccepted`, `__ClearPageUnaccepted`. */
    uname: 'Unaccepted',
    /** Names `folio_test_unaccepted`, `__folio_set_unaccepted`, `__folio_clear_unaccepted`. */
    fname: 'unaccepted',
  },
  /** Page type `PGTY_large_kmalloc` and its helpers. */
  large_kmalloc: {
    /** Type value `PGTY_large_kmalloc`. */
    type: PGTY.large_kmalloc,
    /** `null`: the kernel has folio helpers only (`FOLIO_TYPE_OPS`). */
    uname: null,
    /** Names `folio_test_large_kmalloc`, `__folio_set_large_kmalloc`, `__folio_clear_large_kmalloc`. */
    fname: 'large_kmalloc',
  },
} as const satisfies Record<string, PageTypeDef>;

/** The type of {@link PAGETYPE_TABLE}. */
export type PageTypeTable = typeof PAGETYPE_TABLE;
/** The folio-helper names of {@link PAGETYPE_TABLE} (`buddy`, `hugetlb`, …), as in `folio_test_<name>`. */
export type Fname = PageTypeTable[keyof PageTypeTable]['fname'];
/** The CamelCase names of {@link PAGETYPE_TABLE} (`Buddy`, `Offline`, …), as in `Page<Name>`. */
export type TUname = { [K in keyof PageTypeTable]: PageTypeTable[K]['uname'] }[keyof PageTypeTable] & string;

/** The generated page-type helpers, typed by kernel name. */
export type PageTypeHelpers = { [F in Fname as `folio_test_${F}`]: (m: Machine, folio: Folio) => boolean } & {
  [F in Fname as `__folio_set_${F}` | `__folio_clear_${F}`]: (m: Machine, folio: Folio) => void;
} & { [U in TUname as `Page${U}`]: (m: Machine, pfn: Pfn) => boolean } & {
  [U in TUname as `__SetPage${U}` | `__ClearPage${U}`]: (m: Machine, pfn: Pfn) => void;
};

function generate(): PageTypeHelpers {
  const out: Record<string, unknown> = {};
  for (const def of Object.values(PAGETYPE_TABLE) as PageTypeDef[]) {
    const t = def.type;
    const test = (m: Machine, p: Pfn): boolean => m.memmap.mapcount[p]! >>> 24 === t && m.memmap.mapcount[p]! < TYPED_LIMIT;
    const set = (m: Machine, p: Pfn): void => set_page_type(m, p, t);
    const clear = (m: Machine, p: Pfn): void => clear_page_type(m, p, t);
    out[`folio_test_${def.fname}`] = test;
    out[`__folio_set_${def.fname}`] = set;
    out[`__folio_clear_${def.fname}`] = clear;
    if (def.uname !== null) {
      out[`Page${def.uname}`] = test;
      out[`__SetPage${def.uname}`] = set;
      out[`__ClearPage${def.uname}`] = clear;
    }
  }
  return out as PageTypeHelpers;
}

/**
 * Every page-type helper generated from {@link PAGETYPE_TABLE}, keyed by kernel name; each is also a
 * named export of `page/page-helpers.ts` (generated by `scripts/gen-page-helpers.ts`). The type lives
 * on the page passed in (head page for folio types); tail pages never carry a type.
 */
export const pagetypes: PageTypeHelpers = generate();


/**
 * `PageHuge` (`include/linux/page-flags.h`): the page belongs to a hugetlb folio (its head carries
 * PGTY_hugetlb).
 */
export function PageHuge(m: Machine, pfn: Pfn): boolean {
  const w = m.memmap.lru[pfn]!;
  const head = (w & 1) !== 0 ? (w >>> 2) - 1 : pfn;
  const v = m.memmap.mapcount[head]!;
  return v >>> 24 === PGTY.hugetlb && v < TYPED_LIMIT;
}
