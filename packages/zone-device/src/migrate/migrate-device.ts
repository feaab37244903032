import {
  EINVAL,
  PAGE_SIZE,
  PG,
  folio_add_lru,
  folio_add_new_anon_rmap,
  folio_get,
  folio_get_nontail_page,
  folio_isolate_lru,
  folio_mapcount,
  folio_mapping,
  folio_migrate_flags,
  folio_migrate_mapping,
  folio_put,
  folio_putback_lru,
  folio_test_large,
  folio_test_lru,
  folio_trylock,
  folio_unlock,
  is_zone_device_page,
  lru_add_drain,
  lru_add_drain_all,
  page_folio,
  type Folio,
  type Machine,
  type Pfn,
} from '@mm/core';
import { page_get_pgmap } from '../memremap/page-pgmap.js';
import { folio_is_device_coherent, folio_is_device_private, is_device_coherent_page, is_device_private_page } from '../memremap/predicates.js';
import { PTE_BIT, PTE_KIND, VM_WRITE, linear_page_index } from '../mm/mm-struct.js';
import {
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_DEVICE_COHERENT,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  MIGRATE_VMA_SELECT_SYSTEM,
  migrate_pfn,
  migrate_pfn_to_page,
  type MigrateVma,
} from './migrate-vma.js';
import { remove_migration_ptes, replaceByMigrationEntry, try_to_migrate } from './rmap-walk.js';

/**
 * Device memory migration (`mm/migrate_device.c`, v6.12–6.17 era): the three-step `migrate_vma_*`
 * protocol drivers use to move anonymous memory between system RAM and device (PRIVATE or COHERENT)
 * memory, and the PFN-range variant drivers use to evict a chunk. Each step keeps the kernel's
 * reference choreography: collect takes a reference and replaces the PTE by a migration entry (dropping
 * the mapping's reference); unmap isolates system folios from the LRU (the isolation reference replaces
 * the collect reference) and checks for extra pins; pages copies `mapping`/`index`/flags to the new
 * folio; finalize maps the new folio (or restores the old one), unlocks both and drops the migration
 * references. mmu notifiers, THP and large device folios are not modelled.
 *
 * @module
 */

/** `migrate_vma_collect()` with `migrate_vma_collect_pmd`/`_hole`: fill `src` and unmap what can be locked. */
function migrate_vma_collect(m: Machine, args: MigrateVma): void {
  const vma = args.vma!;
  const faultFolio = args.fault_page;
  const mm = m.memmap;
  for (let addr = args.start; addr < args.end; addr += PAGE_SIZE) {
    const i = vma.slot(addr);
    const bits = vma.pteBits[i]!;
    const kind = bits & 3;
    let mpfn = 0;
    let page = -1;
    if (kind === PTE_KIND.none) {
      mpfn = MIGRATE_PFN_MIGRATE; // anonymous VMA: the hole may be populated
      args.cpages++;
    } else if (kind === PTE_KIND.device_private) {
      page = vma.ptePfn[i]!;
      if ((args.flags & MIGRATE_VMA_SELECT_DEVICE_PRIVATE) !== 0 && page_get_pgmap(m, page as Pfn).owner === args.pgmap_owner) {
        mpfn = migrate_pfn(page) | MIGRATE_PFN_MIGRATE | ((bits & PTE_BIT.write) !== 0 ? MIGRATE_PFN_WRITE : 0);
      }
    } else if (kind === PTE_KIND.present) {
      page = vma.ptePfn[i]!;
      const device = is_zone_device_page(m, page as Pfn);
      const coherent = device && is_device_coherent_page(m, page as Pfn);
      const selected = device
        ? !coherent || ((args.flags & MIGRATE_VMA_SELECT_DEVICE_COHERENT) !== 0 && page_get_pgmap(m, page as Pfn).owner === args.pgmap_owner)
        : (args.flags & MIGRATE_VMA_SELECT_SYSTEM) !== 0;
      if (selected) mpfn = migrate_pfn(page) | MIGRATE_PFN_MIGRATE | ((bits & PTE_BIT.write) !== 0 ? MIGRATE_PFN_WRITE : 0);
    }
    if (mpfn !== 0 && kind !== PTE_KIND.none) {
      const folio = page as Folio;
      if (mm.mapping[folio] === 0 || folio_test_large(m, folio)) {
        mpfn = 0; // FIXME support THP (and pages without a mapping)
      } else {
        folio_get(m, folio);
        if (faultFolio === folio || folio_trylock(m, folio)) {
          args.cpages++;
          replaceByMigrationEntry(m, vma, addr, folio);
        } else {
          folio_put(m, folio);
          mpfn = 0;
        }
      }
    }
    args.dst[args.npages] = 0;
    args.src[args.npages++] = mpfn;
  }
  args.end = args.start + args.npages * PAGE_SIZE;
}

/**
 * `migrate_vma_check_page(page, fault_page)`: no unexpected pins — the references beyond the caller's
 * (isolation or collect; plus the fault path's; plus one for a ZONE_DEVICE folio) must not exceed the
 * mapcount. Large folios are refused.
 */
function migrate_vma_check_page(m: Machine, page: Pfn, faultPage: Pfn | null): boolean {
  const folio = page_folio(m, page);
  let extra = 1 + (page === faultPage ? 1 : 0);
  if (folio_test_large(m, folio)) return false;
  if (is_zone_device_page(m, folio)) extra++;
  if (folio_mapping(m, folio) !== null) extra += 1 + ((m.memmap.flags[folio]! & (1 << PG.private)) !== 0 ? 1 : 0);
  return m.memmap.refcount[folio]! - extra <= folio_mapcount(m, folio);
}

/**
 * `migrate_device_unmap(src_pfns, npages, fault_page)`: isolate the system folios from the LRU (draining
 * the per-CPU batches once if needed; the isolation reference replaces the collect reference), unmap
 * whatever is still mapped (`try_to_migrate`), and refuse pinned folios; refused entries lose
 * MIGRATE_PFN_MIGRATE and are restored (remapped, unlocked, released). Returns how many entries still
 * migrate.
 */
function migrate_device_unmap(m: Machine, src: number[], npages: number, faultPage: Pfn | null): number {
  let restore = 0;
  let allowDrain = true;
  let unmapped = 0;
  lru_add_drain(m);
  for (let i = 0; i < npages; i++) {
    const page = migrate_pfn_to_page(src[i]!);
    if (page === -1) {
      if ((src[i]! & MIGRATE_PFN_MIGRATE) !== 0) unmapped++;
      continue;
    }
    const folio = page_folio(m, page);
    const device = is_zone_device_page(m, folio);
    if (!device) {
      if (!folio_test_lru(m, folio) && allowDrain) {
        lru_add_drain_all(m);
        allowDrain = false;
      }
      if (!folio_isolate_lru(m, folio)) {
        src[i] = src[i]! & ~MIGRATE_PFN_MIGRATE;
        restore++;
        continue;
      }
      folio_put(m, folio); // the reference taken in collect
    }
    if (folio_mapcount(m, folio) > 0) try_to_migrate(m, folio);
    if (folio_mapcount(m, folio) > 0 || !migrate_vma_check_page(m, page, faultPage)) {
      if (!device) {
        folio_get(m, folio);
        folio_putback_lru(m, folio);
      }
      src[i] = src[i]! & ~MIGRATE_PFN_MIGRATE;
      restore++;
      continue;
    }
    unmapped++;
  }
  for (let i = 0; i < npages && restore; i++) {
    const page = migrate_pfn_to_page(src[i]!);
    if (page === -1 || (src[i]! & MIGRATE_PFN_MIGRATE) !== 0) continue;
    const folio = page_folio(m, page);
    remove_migration_ptes(m, folio, folio);
    src[i] = 0;
    if (faultPage !== folio) folio_unlock(m, folio);
    folio_put(m, folio);
    restore--;
  }
  return unmapped;
}

/**
 * `migrate_vma_setup(args)`: validate, collect the range's pages into `src` (holes of the anonymous VMA
 * are offered for population; system pages need MIGRATE_VMA_SELECT_SYSTEM, device pages the matching
 * SELECT flag and `pgmap_owner`), lock and unmap them, and drop the pinned ones. Returns 0, or -EINVAL
 * for a missing or unsuitable VMA, an empty range or one outside the VMA, or a `fault_page` that is not
 * a locked device-private page — before anything changes.
 */
export function migrate_vma_setup(m: Machine, args: MigrateVma): number {
  return m.withChecksDeferred('migrate_vma_setup', () => {
    const nrPages = Math.floor((args.end - args.start) / PAGE_SIZE);
    args.start -= args.start % PAGE_SIZE;
    args.end -= args.end % PAGE_SIZE;
    const vma = args.vma;
    if (!vma || nrPages <= 0) return -EINVAL;
    if (args.start < vma.vm_start || args.start >= vma.vm_end) return -EINVAL;
    if (args.end <= vma.vm_start || args.end > vma.vm_end) return -EINVAL;
    if (args.src.length < nrPages || args.dst.length < nrPages) return -EINVAL;
    if (args.fault_page !== null && !is_device_private_page(m, args.fault_page)) return -EINVAL;
    if (args.fault_page !== null && (m.memmap.flags[args.fault_page]! & (1 << PG.locked)) === 0) return -EINVAL;
    args.src.fill(0, 0, nrPages);
    args.cpages = 0;
    args.npages = 0;
    migrate_vma_collect(m, args);
    if (args.cpages) args.cpages = migrate_device_unmap(m, args.src, args.npages, args.fault_page);
    return 0;
  });
}

/**
 * `migrate_vma_insert_page(migrate, addr, page, src)`: populate a hole of the anonymous VMA directly
 * with the driver's new page — a device-private entry for device-private memory, else a present PTE
 * (device-coherent or system memory; other ZONE_DEVICE types are refused) — as `do_anonymous_page`
 * would: exclusive anon rmap, LRU for system memory, and the mapping's reference. Refused entries lose
 * MIGRATE_PFN_MIGRATE.
 */
function migrate_vma_insert_page(m: Machine, args: MigrateVma, addr: number, page: Pfn, i: number): void {
  const vma = args.vma!;
  const folio = page as Folio;
  const abort = (): void => {
    args.src[i] = args.src[i]! & ~MIGRATE_PFN_MIGRATE;
  };
  if ((vma.pteBits[vma.slot(addr)]! & 3) !== PTE_KIND.none) return abort();
  let kind: number = PTE_KIND.present;
  let bits = 0;
  if (folio_is_device_private(m, folio)) {
    kind = PTE_KIND.device_private;
    if ((vma.vm_flags & VM_WRITE) !== 0) bits = PTE_BIT.write;
  } else {
    if (is_zone_device_page(m, folio) && !folio_is_device_coherent(m, folio)) return abort();
    if ((vma.vm_flags & VM_WRITE) !== 0) bits = PTE_BIT.write | PTE_BIT.dirty;
  }
  m.memmap.flags[folio]! |= 1 << PG.uptodate; // __folio_mark_uptodate
  folio_add_new_anon_rmap(m, folio, vma.anon_vma!, linear_page_index(vma, addr));
  if (!is_zone_device_page(m, folio)) folio_add_lru(m, folio);
  folio_get(m, folio);
  vma.setPte(addr, kind, folio, bits);
  args.src[i] = MIGRATE_PFN_MIGRATE;
}

/** `__migrate_device_pages(src_pfns, dst_pfns, npages, migrate)`: move `struct page` metadata to the new pages. */
function __migrate_device_pages(m: Machine, src: number[], dst: number[], npages: number, args: MigrateVma | null): void {
  for (let i = 0; i < npages; i++) {
    const newpage = migrate_pfn_to_page(dst[i]!);
    const page = migrate_pfn_to_page(src[i]!);
    if (newpage === -1) {
      src[i] = src[i]! & ~MIGRATE_PFN_MIGRATE;
      continue;
    }
    if (page === -1) {
      if ((src[i]! & MIGRATE_PFN_MIGRATE) === 0) continue;
      if (args === null) continue; // VM_BUG_ON(!migrate): only migrate_vma callers have holes
      migrate_vma_insert_page(m, args, args.start + i * PAGE_SIZE, newpage, i);
      continue;
    }
    const newfolio = page_folio(m, newpage);
    const folio = page_folio(m, page);
    const mapping = folio_mapping(m, folio);
    if (folio_is_device_private(m, newfolio) || folio_is_device_coherent(m, newfolio)) {
      // Only anonymous memory migrates to device private or coherent memory; a swap-cache folio
      // would first leave the swap cache (folio_free_swap), which the model does not do.
      if (mapping !== null) {
        src[i] = src[i]! & ~MIGRATE_PFN_MIGRATE;
        continue;
      }
    } else if (is_zone_device_page(m, newfolio)) {
      src[i] = src[i]! & ~MIGRATE_PFN_MIGRATE; // other ZONE_DEVICE types are not supported
      continue;
    }
    const extra = args !== null && args.fault_page === page ? 1 : 0;
    if (folio_migrate_mapping(m, mapping, newfolio, folio, extra) !== 0) src[i] = src[i]! & ~MIGRATE_PFN_MIGRATE;
    else folio_migrate_flags(m, newfolio, folio);
  }
}

/**
 * `migrate_vma_pages(migrate)`: for every entry still migrating with a destination in `dst`, move the
 * metadata (`folio_migrate_mapping`: the source must hold exactly its expected references, else the
 * entry stays behind; `folio_migrate_flags`), or populate a collected hole (`migrate_vma_insert_page`).
 * Entries without a destination stop migrating.
 */
export function migrate_vma_pages(m: Machine, args: MigrateVma): void {
  return m.withChecksDeferred('migrate_vma_pages', () => {
    __migrate_device_pages(m, args.src, args.dst, args.npages, args);
  });
}

/**
 * `__migrate_device_finalize(src_pfns, dst_pfns, npages, fault_page)`: map the new folio where the
 * migration succeeded, else restore the old one (an unused destination is unlocked and released);
 * system destinations go on the LRU; both folios are unlocked (except the fault page, which
 * `do_swap_page` unlocks) and lose their migration reference — which frees a migrated-away source.
 */
function __migrate_device_finalize(m: Machine, src: number[], dst: number[], npages: number, faultPage: Pfn | null): void {
  for (let i = 0; i < npages; i++) {
    const newpage = migrate_pfn_to_page(dst[i]!);
    const page = migrate_pfn_to_page(src[i]!);
    let d: Folio | -1 = newpage === -1 ? -1 : page_folio(m, newpage);
    if (page === -1) {
      if (d >= 0) {
        folio_unlock(m, d as Folio);
        folio_put(m, d as Folio);
      }
      continue;
    }
    const s = page_folio(m, page);
    if ((src[i]! & MIGRATE_PFN_MIGRATE) === 0 || d < 0) {
      if (d >= 0) {
        folio_unlock(m, d as Folio);
        folio_put(m, d as Folio);
      }
      d = s;
    }
    const dstFolio = d as Folio;
    if (!is_zone_device_page(m, dstFolio)) folio_add_lru(m, dstFolio);
    remove_migration_ptes(m, s, dstFolio);
    if (faultPage !== s) folio_unlock(m, s);
    folio_put(m, s);
    if (dstFolio !== s) {
      folio_unlock(m, dstFolio);
      folio_put(m, dstFolio);
    }
  }
}

/**
 * `migrate_vma_finalize(migrate)`: replace each migration entry by a mapping of the new page (or the
 * old one where migration failed), unlock, and drop the references migration held.
 */
export function migrate_vma_finalize(m: Machine, args: MigrateVma): void {
  return m.withChecksDeferred('migrate_vma_finalize', () => {
    __migrate_device_finalize(m, args.src, args.dst, args.npages, args.fault_page);
  });
}

/** `migrate_device_pfn_lock(pfn)`: a reference and the lock on an allocated device page, as a migrate PFN, or 0. */
function migrate_device_pfn_lock(m: Machine, pfn: number): number {
  const folio = folio_get_nontail_page(m, pfn as Pfn);
  if (folio === null) return 0;
  if (!folio_trylock(m, folio)) {
    folio_put(m, folio);
    return 0;
  }
  return migrate_pfn(pfn) | MIGRATE_PFN_MIGRATE;
}

/**
 * `migrate_device_range(src_pfns, start, npages)`: collect every allocated page of a device PFN range
 * (free pages, at refcount 0, are skipped) — referenced, locked, and unmapped through the rmap — so a
 * driver can evict device memory it does not know the mappings of. Returns 0.
 */
export function migrate_device_range(m: Machine, src: number[], start: number, npages: number): number {
  return m.withChecksDeferred('migrate_device_range', () => {
    for (let i = 0; i < npages; i++) src[i] = migrate_device_pfn_lock(m, start + i);
    migrate_device_unmap(m, src, npages, null);
    return 0;
  });
}

/** `migrate_device_pages(src_pfns, dst_pfns, npages)`: {@link migrate_vma_pages} for `migrate_device_range`. */
export function migrate_device_pages(m: Machine, src: number[], dst: number[], npages: number): void {
  return m.withChecksDeferred('migrate_device_pages', () => {
    __migrate_device_pages(m, src, dst, npages, null);
  });
}

/** `migrate_device_finalize(src_pfns, dst_pfns, npages)`: {@link migrate_vma_finalize} for `migrate_device_range`. */
export function migrate_device_finalize(m: Machine, src: number[], dst: number[], npages: number): void {
  return m.withChecksDeferred('migrate_device_finalize', () => {
    __migrate_device_finalize(m, src, dst, npages, null);
  });
}
