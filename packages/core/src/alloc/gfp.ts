import { MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE } from './migratetype.js';
import { ZONE } from '../page/page-zone.js';

/**
 * GFP flags with the kernel's bit values (`include/linux/gfp_types.h`, without KASAN tags or
 * lockdep) and the common combinations.
 *
 * @module
 */
export const GFP = {
  __GFP_DMA: 0x01,
  __GFP_HIGHMEM: 0x02,
  __GFP_DMA32: 0x04,
  __GFP_MOVABLE: 0x08,
  __GFP_RECLAIMABLE: 0x10,
  __GFP_HIGH: 0x20,
  __GFP_IO: 0x40,
  __GFP_FS: 0x80,
  __GFP_ZERO: 0x100,
  __GFP_DIRECT_RECLAIM: 0x400,
  __GFP_KSWAPD_RECLAIM: 0x800,
  __GFP_WRITE: 0x1000,
  __GFP_NOWARN: 0x2000,
  __GFP_RETRY_MAYFAIL: 0x4000,
  __GFP_NOFAIL: 0x8000,
  __GFP_NORETRY: 0x10000,
  __GFP_MEMALLOC: 0x20000,
  __GFP_COMP: 0x40000,
  __GFP_NOMEMALLOC: 0x80000,
  __GFP_HARDWALL: 0x100000,
  __GFP_THISNODE: 0x200000,
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
