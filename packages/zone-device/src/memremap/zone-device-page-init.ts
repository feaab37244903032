import { EBUSY, EINVAL, ENXIO, MmError, PG, TAIL_BIT, assertValidPfn, is_zone_device_page, type Machine, type Pfn } from '@mm/core';
import { percpu_ref_tryget_live } from './get-dev-pagemap.js';
import { MEMORY_TYPE_NAMES, pgmapRefsPerAllocation } from './memory-type.js';
import { page_get_pgmap } from './page-pgmap.js';

/**
 * `zone_device_page_init(page)` (`mm/memremap.c`, v6.17 signature): a driver allocates a free
 * PRIVATE or COHERENT page — take a live pgmap reference, set the refcount to 1 and lock the page
 * (the migration code expects a locked destination). The latest kernels add `pgmap` and `order`
 * arguments for large device-private folios; those are not modelled.
 *
 * Rejected with `MmError`, nothing changed: a PFN outside ZONE_DEVICE, a tail page, a pgmap of another
 * type (EINVAL); a page that is not free in the driver, i.e. refcount ≠ 0 (EINVAL); a locked page
 * (EBUSY: `lock_page` would sleep); a dying pgmap (ENXIO: the kernel WARNs when `percpu_ref_tryget_live`
 * fails).
 */
export function zone_device_page_init(m: Machine, page: Pfn): void {
  assertValidPfn(m, page, 'zone_device_page_init');
  const mm = m.memmap;
  if (!is_zone_device_page(m, page) || (mm.lru[page]! & TAIL_BIT) !== 0) {
    throw new MmError(EINVAL, 'zone_device_page_init: not a ZONE_DEVICE head page', { pfn: page, rule: 'drivers allocate ZONE_DEVICE folios' });
  }
  const pgmap = page_get_pgmap(m, page);
  if (!pgmapRefsPerAllocation(pgmap.type)) {
    throw new MmError(EINVAL, `zone_device_page_init on a ${MEMORY_TYPE_NAMES[pgmap.type]} page`, {
      pfn: page,
      rule: 'only PRIVATE and COHERENT pages are driver-allocated',
    });
  }
  if (mm.refcount[page] !== 0) {
    throw new MmError(EINVAL, `zone_device_page_init on a page with refcount ${mm.refcount[page]}`, {
      pfn: page,
      rule: '§13 §5.2 a page at refcount 0 is free in the driver; only free pages are allocated',
    });
  }
  if ((mm.flags[page]! & (1 << PG.locked)) !== 0) {
    throw new MmError(EBUSY, 'zone_device_page_init: page is locked and the model cannot sleep', { pfn: page, rule: 'lock_page' });
  }
  if (!percpu_ref_tryget_live(m, pgmap)) {
    throw new MmError(ENXIO, 'zone_device_page_init: the pgmap is dying', {
      pfn: page,
      rule: 'WARN_ON_ONCE(!percpu_ref_tryget_live(&pgmap->ref)): no allocation from a dying pgmap',
    });
  }
  mm.refcount[page] = 1;
  mm.flags[page]! |= 1 << PG.locked;
  if (m.debugVm) m.checkInvariants('zone_device_page_init');
}
