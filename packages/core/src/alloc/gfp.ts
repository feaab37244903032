import { MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE } from './migratetype.js';
import { ZONE } from '../page/page-zone.js';

/**
 * GFP flags with the kernel's bit values (`include/linux/gfp_types.h`, without KASAN tags or
 * lockdep) and the common combinations.
 *
 * @module
 */

/**
 * The `__GFP_*` bits (`include/linux/gfp_types.h`), with the kernel's values. Bit 9 (0x200) is unused
 * in the kernel; the KASAN/lockdep bits above `__GFP_ACCOUNT` are not modelled.
 */
export const GFP = {
  /** `__GFP_DMA` (zone modifier): allocate from ZONE_DMA, the lowest 16 MiB on x86-64. */
  __GFP_DMA: 0x01,
  /**
   * `__GFP_HIGHMEM` (zone modifier): highmem allowed; x86-64 has no ZONE_HIGHMEM, but together with
   * `__GFP_MOVABLE` it allows ZONE_MOVABLE.
   */
  __GFP_HIGHMEM: 0x02,
  /** `__GFP_DMA32` (zone modifier): allocate from ZONE_DMA32, below 4 GiB. */
  __GFP_DMA32: 0x04,
  /**
   * `__GFP_MOVABLE` (zone modifier and mobility hint): the page can be moved by migration during
   * compaction, or reclaimed; `MIGRATE_MOVABLE`.
   */
  __GFP_MOVABLE: 0x08,
  /**
   * `__GFP_RECLAIMABLE` (mobility hint): slab pages of `SLAB_RECLAIM_ACCOUNT` caches, freed via shrinkers;
   * `MIGRATE_RECLAIMABLE`.
   */
  __GFP_RECLAIMABLE: 0x10,
  /**
   * `__GFP_HIGH` (watermark modifier): high-priority caller that may use part of the reserves below the min
   * watermark.
   */
  __GFP_HIGH: 0x20,
  /** `__GFP_IO` (reclaim modifier): reclaim may start physical IO. */
  __GFP_IO: 0x40,
  /** `__GFP_FS` (reclaim modifier): reclaim may call down into the low-level filesystem. */
  __GFP_FS: 0x80,
  /** `__GFP_ZERO` (action modifier): return a zeroed page on success. */
  __GFP_ZERO: 0x100,
  /** `__GFP_DIRECT_RECLAIM` (reclaim modifier): the caller may enter direct reclaim and direct compaction. */
  __GFP_DIRECT_RECLAIM: 0x400,
  /** `__GFP_KSWAPD_RECLAIM` (reclaim modifier): wake kswapd when the low watermark is reached. */
  __GFP_KSWAPD_RECLAIM: 0x800,
  /**
   * `__GFP_WRITE` (placement hint): the caller intends to dirty the page; such pages are spread between
   * local zones.
   */
  __GFP_WRITE: 0x1000,
  /** `__GFP_NOWARN` (action modifier): suppress allocation failure reports. */
  __GFP_NOWARN: 0x2000,
  /**
   * `__GFP_RETRY_MAYFAIL` (reclaim modifier): retry reclaim and compaction while progress is made; may
   * still fail, never invokes the OOM killer.
   */
  __GFP_RETRY_MAYFAIL: 0x4000,
  /** `__GFP_NOFAIL` (reclaim modifier): retry forever; the allocation never fails. */
  __GFP_NOFAIL: 0x8000,
  /**
   * `__GFP_NORETRY` (reclaim modifier): only lightweight direct reclaim and compaction, no OOM killer;
   * failure is likely.
   */
  __GFP_NORETRY: 0x10000,
  /** `__GFP_MEMALLOC` (watermark modifier): access to all memory reserves. */
  __GFP_MEMALLOC: 0x20000,
  /** `__GFP_COMP` (action modifier): set up compound page metadata, i.e. a large folio for order > 0. */
  __GFP_COMP: 0x40000,
  /**
   * `__GFP_NOMEMALLOC` (watermark modifier): forbid access to emergency reserves; takes precedence over
   * `__GFP_MEMALLOC`.
   */
  __GFP_NOMEMALLOC: 0x80000,
  /** `__GFP_HARDWALL` (placement hint): enforce the cpuset memory allocation policy. */
  __GFP_HARDWALL: 0x100000,
  /** `__GFP_THISNODE` (placement hint): the requested node only, with no fallback or placement policy. */
  __GFP_THISNODE: 0x200000,
  /** `__GFP_ACCOUNT` (placement hint): account the allocation to kmemcg. */
  __GFP_ACCOUNT: 0x400000,
} as const;

const R = GFP.__GFP_DIRECT_RECLAIM | GFP.__GFP_KSWAPD_RECLAIM;
/** `GFP_ATOMIC`. */
export const GFP_ATOMIC = GFP.__GFP_HIGH | GFP.__GFP_KSWAPD_RECLAIM;
/** `GFP_KERNEL`. */
export const GFP_KERNEL = R | GFP.__GFP_IO | GFP.__GFP_FS;
/** `GFP_NOWAIT`. */
export const GFP_NOWAIT = GFP.__GFP_KSWAPD_RECLAIM | GFP.__GFP_NOWARN;
/** `GFP_USER`. */
export const GFP_USER = GFP_KERNEL | GFP.__GFP_HARDWALL;
/** `GFP_HIGHUSER`. */
export const GFP_HIGHUSER = GFP_USER | GFP.__GFP_HIGHMEM;
/** `GFP_HIGHUSER_MOVABLE`. */
export const GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | GFP.__GFP_MOVABLE;
/** `GFP_DMA32`. */
export const GFP_DMA32 = GFP.__GFP_DMA32;
/** `GFP_TRANSHUGE_LIGHT`. */
export const GFP_TRANSHUGE_LIGHT = (GFP_HIGHUSER_MOVABLE | GFP.__GFP_COMP | GFP.__GFP_NOMEMALLOC | GFP.__GFP_NOWARN) & ~R;
/** `GFP_TRANSHUGE`. */
export const GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | GFP.__GFP_DIRECT_RECLAIM;

/** `gfp_migratetype(gfp)` (`include/linux/gfp.h`): MOVABLE, RECLAIMABLE or UNMOVABLE. */
export function gfp_migratetype(gfp: number): number {
  if (gfp & GFP.__GFP_MOVABLE) return MIGRATE_MOVABLE;
  if (gfp & GFP.__GFP_RECLAIMABLE) return MIGRATE_RECLAIMABLE;
  return MIGRATE_UNMOVABLE;
}

/**
 * `gfp_zone(gfp)` (`include/linux/gfp.h`): the highest zone an allocation may use. ZONE_MOVABLE needs
 * both __GFP_MOVABLE and __GFP_HIGHMEM (as in GFP_HIGHUSER_MOVABLE); x86-64 has no HIGHMEM zone, so
 * __GFP_HIGHMEM alone means ZONE_NORMAL.
 */
export function gfp_zone(gfp: number): number {
  if (gfp & GFP.__GFP_DMA) return ZONE.DMA;
  if (gfp & GFP.__GFP_DMA32) return ZONE.DMA32;
  if ((gfp & GFP.__GFP_MOVABLE) !== 0 && (gfp & GFP.__GFP_HIGHMEM) !== 0) return ZONE.MOVABLE;
  return ZONE.NORMAL;
}

/** Names of set GFP bits, as tracepoints print them (`__GFP_MOVABLE|__GFP_COMP`). */
export function gfpNames(gfp: number): string {
  const names = Object.entries(GFP)
    .filter(([, v]) => (gfp & v) !== 0)
    .map(([k]) => k);
  return names.length ? names.join('|') : '0';
}
