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
  buddy: 0xf0,
  offline: 0xf1,
  table: 0xf2,
  guard: 0xf3,
  hugetlb: 0xf4,
  slab: 0xf5,
  zsmalloc: 0xf6,
  unaccepted: 0xf7,
  large_kmalloc: 0xf8,
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
export function page_type_is(m: Machine, pfn: Pfn, type: number): boolean {
  return m.memmap.mapcount[pfn]! >>> 24 === type && m.memmap.mapcount[pfn]! < TYPED_LIMIT;
}

/**
 * Set page type `type` on `pfn` (`__SetPage##uname` / `__folio_set_##fname`): a no-op if the page
 * already has it; otherwise the field must be "no type", else `MmError(EINVAL)` — the kernel's
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
 * Clear page type `type` (`__ClearPage##uname` / `__folio_clear_##fname`): a no-op if the page has no
 * type; otherwise it must have `type`, else `MmError(EINVAL)`. Leftover low bits never survive.
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
  buddy: { type: PGTY.buddy, uname: 'Buddy', fname: 'buddy' },
  offline: { type: PGTY.offline, uname: 'Offline', fname: 'offline' },
  table: { type: PGTY.table, uname: 'Table', fname: 'pgtable' },
  guard: { type: PGTY.guard, uname: 'Guard', fname: 'guard' },
  hugetlb: { type: PGTY.hugetlb, uname: null, fname: 'hugetlb' },
  slab: { type: PGTY.slab, uname: null, fname: 'slab' },
  zsmalloc: { type: PGTY.zsmalloc, uname: 'Zsmalloc', fname: 'zsmalloc' },
  unaccepted: { type: PGTY.unaccepted, uname: 'Unaccepted', fname: 'unaccepted' },
  large_kmalloc: { type: PGTY.large_kmalloc, uname: null, fname: 'large_kmalloc' },
} as const satisfies Record<string, PageTypeDef>;

/** The type of {@link PAGETYPE_TABLE}. */
export type PageTypeTable = typeof PAGETYPE_TABLE;
type TT = PageTypeTable;
/** The folio-helper names of {@link PAGETYPE_TABLE} (`buddy`, `hugetlb`, …), as in `folio_test_<name>`. */
export type Fname = TT[keyof TT]['fname'];
/** The CamelCase names of {@link PAGETYPE_TABLE} (`Buddy`, `Offline`, …), as in `Page<Name>`. */
export type TUname = { [K in keyof TT]: TT[K]['uname'] }[keyof TT] & string;

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
