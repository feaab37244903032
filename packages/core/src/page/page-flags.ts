import type { Machine } from '../machine/machine.js';
import type { Folio, Pfn } from '../types.js';
import { TAIL_BIT, ptr_pfn } from './word.js';

/**
 * Page flag bit numbers (`enum pageflags`, `include/linux/page-flags.h`, v6.18, x86-64 with MMU,
 * MEMORY_FAILURE and PAGE_IDLE_FLAG). Aliases share a bit, as in the kernel.
 */
export const PG = {
  locked: 0,
  writeback: 1,
  referenced: 2,
  uptodate: 3,
  /** Alias of `uptodate` (CONFIG_MIGRATION): the page has movable_ops (series 2). */
  movable_ops: 3,
  /** Alias of `uptodate` on free buddy pages. */
  reported: 3,
  dirty: 4,
  lru: 5,
  head: 6,
  waiters: 7,
  active: 8,
  /** Page-1 alias of `active`. */
  has_hwpoisoned: 8,
  workingset: 9,
  /** Page-1 alias of `workingset`. */
  large_rmappable: 9,
  owner_priv_1: 10,
  /** Alias of `owner_priv_1`, meaningful only with `swapbacked`. */
  swapcache: 10,
  owner_2: 11,
  /** Alias of `owner_2` (per page). */
  anon_exclusive: 11,
  arch_1: 12,
  reserved: 13,
  private: 14,
  private_2: 15,
  reclaim: 16,
  /** Alias of `reclaim` (CONFIG_MIGRATION): isolated for movable_ops migration (series 2). */
  movable_ops_isolated: 16,
  /** Page-1 alias of `reclaim`. */
  partially_mapped: 16,
  swapbacked: 17,
  unevictable: 18,
  dropbehind: 19,
  mlocked: 20,
  hwpoison: 21,
  young: 22,
  idle: 23,
} as const;

/** Number of PG_* bits in the low part of `flags`; the top byte holds node and zone. */
export const NR_PAGEFLAGS = 24;
/** Mask of all PG_* bits. */
export const PAGEFLAGS_MASK = (1 << NR_PAGEFLAGS) - 1;

const bit = (b: number): number => 1 << b;

/**
 * `PAGE_FLAGS_CHECK_AT_FREE`: any of these set when a page is freed is a "bad page"
 * (`include/linux/page-flags.h`). The model has no MGLRU generation bits.
 */
export const PAGE_FLAGS_CHECK_AT_FREE =
  bit(PG.lru) |
  bit(PG.locked) |
  bit(PG.private) |
  bit(PG.private_2) |
  bit(PG.writeback) |
  bit(PG.reserved) |
  bit(PG.active) |
  bit(PG.unevictable) |
  bit(PG.mlocked);

/**
 * `PAGE_FLAGS_CHECK_AT_PREP`: every flag bit except hwpoison must be clear when the allocator hands a
 * page out. Consequently PG_movable_ops and PG_movable_ops_isolated cannot survive free + alloc.
 */
export const PAGE_FLAGS_CHECK_AT_PREP = PAGEFLAGS_MASK & ~bit(PG.hwpoison);

/**
 * `PAGE_FLAGS_SECOND`: what page 1 of a large folio keeps in its flags (the order byte,
 * PG_has_hwpoisoned, PG_large_rmappable, PG_partially_mapped); cleared when the folio is freed.
 */
export const PAGE_FLAGS_SECOND = 0xff | bit(PG.has_hwpoisoned) | bit(PG.large_rmappable) | bit(PG.partially_mapped);

/**
 * Which page of a compound page a flag helper acts on (`PF_*` policies of `page-flags.h`):
 * `any` the page itself, `head` the head page (a tail acts on its head), `second` page 1 of a
 * large folio.
 */
export type PageFlagPolicy = 'any' | 'head' | 'second';

/** One row of the flag table: the bit, the CamelCase name of the `PageX` helpers, the policy. */
export interface PageFlagDef {
  /** Bit number in `flags`. */
  readonly bit: number;
  /** CamelCase name used by `PageX`/`SetPageX`, or `null` if the kernel has folio helpers only. */
  readonly uname: string | null;
  /** Which page the helpers act on. */
  readonly policy: PageFlagPolicy;
}

/**
 * The flag table from which all `folio_test_*`, `folio_set_*`, `PageX`, `SetPageX`… helpers are
 * generated, as `page-flags.h` generates them from `PAGEFLAG()`/`FOLIO_FLAG()` macros.
 * PG_movable_ops and PG_movable_ops_isolated are not here: series 2 gives them only test/set helpers
 * (see `migrate/movable-ops-flags.ts`).
 */
export const PAGEFLAG_TABLE = {
  locked: { bit: PG.locked, uname: 'Locked', policy: 'head' },
  waiters: { bit: PG.waiters, uname: 'Waiters', policy: 'head' },
  referenced: { bit: PG.referenced, uname: 'Referenced', policy: 'head' },
  dirty: { bit: PG.dirty, uname: 'Dirty', policy: 'head' },
  lru: { bit: PG.lru, uname: 'LRU', policy: 'head' },
  active: { bit: PG.active, uname: 'Active', policy: 'head' },
  workingset: { bit: PG.workingset, uname: 'Workingset', policy: 'head' },
  owner_priv_1: { bit: PG.owner_priv_1, uname: 'OwnerPriv1', policy: 'any' },
  owner_2: { bit: PG.owner_2, uname: 'Owner2', policy: 'any' },
  arch_1: { bit: PG.arch_1, uname: 'Arch1', policy: 'head' },
  reserved: { bit: PG.reserved, uname: 'Reserved', policy: 'any' },
  swapbacked: { bit: PG.swapbacked, uname: 'SwapBacked', policy: 'head' },
  private: { bit: PG.private, uname: 'Private', policy: 'any' },
  private_2: { bit: PG.private_2, uname: 'Private2', policy: 'any' },
  writeback: { bit: PG.writeback, uname: 'Writeback', policy: 'head' },
  head: { bit: PG.head, uname: 'Head', policy: 'any' },
  uptodate: { bit: PG.uptodate, uname: 'Uptodate', policy: 'head' },
  reclaim: { bit: PG.reclaim, uname: 'Reclaim', policy: 'head' },
  unevictable: { bit: PG.unevictable, uname: 'Unevictable', policy: 'head' },
  dropbehind: { bit: PG.dropbehind, uname: 'Dropbehind', policy: 'head' },
  mlocked: { bit: PG.mlocked, uname: 'Mlocked', policy: 'head' },
  hwpoison: { bit: PG.hwpoison, uname: 'HWPoison', policy: 'any' },
  young: { bit: PG.young, uname: 'Young', policy: 'any' },
  idle: { bit: PG.idle, uname: 'Idle', policy: 'any' },
  anon_exclusive: { bit: PG.anon_exclusive, uname: 'AnonExclusive', policy: 'any' },
  large_rmappable: { bit: PG.large_rmappable, uname: null, policy: 'second' },
  partially_mapped: { bit: PG.partially_mapped, uname: null, policy: 'second' },
  has_hwpoisoned: { bit: PG.has_hwpoisoned, uname: null, policy: 'second' },
} as const satisfies Record<string, PageFlagDef>;

/** The type of {@link PAGEFLAG_TABLE}. */
export type PageFlagTable = typeof PAGEFLAG_TABLE;
type Table = PageFlagTable;
/** The lower-case flag names of {@link PAGEFLAG_TABLE} (`lru`, `locked`, …), as in `folio_test_<name>`. */
export type Lname = keyof Table & string;
/** The CamelCase flag names of {@link PAGEFLAG_TABLE} (`LRU`, `Locked`, …), as in `Page<Name>`. */
export type Uname = { [K in Lname]: Table[K]['uname'] }[Lname] & string;

/** A flag test: `(m, folio) => boolean`. */
export type FolioFlagTest = (m: Machine, folio: Folio) => boolean;
/** A flag update: `(m, folio) => void`. */
export type FolioFlagOp = (m: Machine, folio: Folio) => void;
/** A page flag test: `(m, pfn) => boolean`. */
export type PageFlagTest = (m: Machine, pfn: Pfn) => boolean;
/** A page flag update: `(m, pfn) => void`. */
export type PageFlagOp = (m: Machine, pfn: Pfn) => void;

/** The generated helpers, typed by name (`folio_test_lru`, `__SetPageReserved`, …). */
export type PageFlagHelpers = {
  [K in Lname as `folio_test_${K}`]: FolioFlagTest;
} & { [K in Lname as `folio_set_${K}` | `__folio_set_${K}` | `folio_clear_${K}` | `__folio_clear_${K}`]: FolioFlagOp } & {
  [K in Lname as `folio_test_set_${K}` | `folio_test_clear_${K}`]: FolioFlagTest;
} & { [U in Uname as `Page${U}` | `TestSetPage${U}` | `TestClearPage${U}`]: PageFlagTest } & {
  [U in Uname as `SetPage${U}` | `__SetPage${U}` | `ClearPage${U}` | `__ClearPage${U}`]: PageFlagOp;
};

/** Resolve the page a policy acts on. */
function policyPage(m: Machine, pfn: number, policy: PageFlagPolicy): number {
  if (policy === 'any') return pfn;
  const w = m.memmap.lru[pfn]!;
  const head = (w & TAIL_BIT) !== 0 ? ptr_pfn(w) : pfn;
  return policy === 'head' ? head : head + 1;
}

function generate(): PageFlagHelpers {
  const out: Record<string, unknown> = {};
  for (const [lname, def] of Object.entries(PAGEFLAG_TABLE) as [Lname, PageFlagDef][]) {
    const mask = 1 << def.bit;
    const off = def.policy === 'second' ? 1 : 0;
    // Folio helpers take the folio (head) and act on page 0, or page 1 for PF_SECOND flags.
    const test = (m: Machine, f: number): boolean => (m.memmap.flags[f + off]! & mask) !== 0;
    const set = (m: Machine, f: number): void => {
      m.memmap.flags[f + off]! |= mask;
    };
    const clear = (m: Machine, f: number): void => {
      m.memmap.flags[f + off]! &= ~mask;
    };
    const testSet = (m: Machine, f: number): boolean => {
      const old = test(m, f);
      set(m, f);
      return old;
    };
    const testClear = (m: Machine, f: number): boolean => {
      const old = test(m, f);
      clear(m, f);
      return old;
    };
    out[`folio_test_${lname}`] = test;
    // The model is sequentially consistent: atomic and non-atomic (`__`) variants are the same.
    out[`folio_set_${lname}`] = out[`__folio_set_${lname}`] = set;
    out[`folio_clear_${lname}`] = out[`__folio_clear_${lname}`] = clear;
    out[`folio_test_set_${lname}`] = testSet;
    out[`folio_test_clear_${lname}`] = testClear;
    if (def.uname !== null) {
      const u = def.uname;
      const pol = def.policy;
      out[`Page${u}`] = (m: Machine, p: number): boolean => test(m, policyPage(m, p, pol));
      out[`SetPage${u}`] = out[`__SetPage${u}`] = (m: Machine, p: number): void => set(m, policyPage(m, p, pol));
      out[`ClearPage${u}`] = out[`__ClearPage${u}`] = (m: Machine, p: number): void => clear(m, policyPage(m, p, pol));
      out[`TestSetPage${u}`] = (m: Machine, p: number): boolean => testSet(m, policyPage(m, p, pol));
      out[`TestClearPage${u}`] = (m: Machine, p: number): boolean => testClear(m, policyPage(m, p, pol));
    }
  }
  return out as PageFlagHelpers;
}

/**
 * Every flag helper generated from {@link PAGEFLAG_TABLE}, keyed by its kernel name; each is also a
 * named export of `page/page-helpers.ts` (generated by `scripts/gen-page-helpers.ts`). Models the `FOLIO_FLAG`/`PAGEFLAG` macro families
 * of `include/linux/page-flags.h`; atomic and `__` non-atomic variants behave alike because the model
 * is sequentially consistent.
 */
export const pageflags: PageFlagHelpers = generate();


/**
 * `folio_test_swapcache`: PG_swapcache is PG_owner_priv_1 and only means "in the swap cache" together
 * with PG_swapbacked (`include/linux/page-flags.h`).
 */
export function folio_test_swapcache(m: Machine, folio: Folio): boolean {
  const f = m.memmap.flags[folio]!;
  return (f & (1 << PG.swapbacked)) !== 0 && (f & (1 << PG.swapcache)) !== 0;
}

/** `folio_set_swapcache` (`include/linux/page-flags.h`): set PG_swapcache (caller ensures swapbacked). */
export function folio_set_swapcache(m: Machine, folio: Folio): void {
  m.memmap.flags[folio]! |= 1 << PG.swapcache;
}

/** `folio_clear_swapcache` (`include/linux/page-flags.h`). */
export function folio_clear_swapcache(m: Machine, folio: Folio): void {
  m.memmap.flags[folio]! &= ~(1 << PG.swapcache);
}
