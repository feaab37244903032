import { GFP, GFP_HIGHUSER, GFP_HIGHUSER_MOVABLE, PGTY, alloc_page, type Machine, type Pfn } from '@mm/core';
import { BalloonMops } from './balloon-mops.js';

/**
 * `balloon_page_alloc()` (`mm/balloon.c`; the GFP choice was `balloon_mapping_gfp_mask()` until
 * 2026): an order-0 page for the driver to inflate, from `GFP_HIGHUSER_MOVABLE` when balloon
 * migration is configured (the page can be moved later, so it may come from ZONE_MOVABLE and movable
 * pageblocks) or `GFP_HIGHUSER` otherwise, always with `__GFP_NOMEMALLOC | __GFP_NORETRY |
 * __GFP_NOWARN` (never dip into reserves, give up early, quietly). Returns the page with refcount 1,
 * or -1 (NULL) if the allocation fails. Balloon migration is configured when the machine's
 * PGTY_offline movable_ops are the balloon's.
 */
export function balloon_page_alloc(m: Machine): Pfn | -1 {
  const base = m.movableOps[PGTY.offline] instanceof BalloonMops ? GFP_HIGHUSER_MOVABLE : GFP_HIGHUSER;
  return alloc_page(m, base | GFP.__GFP_NOMEMALLOC | GFP.__GFP_NORETRY | GFP.__GFP_NOWARN);
}
