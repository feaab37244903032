import { FOLIO_MAPPING_ANON, PAGE_SIZE, PG, folio_get, folio_put, type Folio, type Machine, type Pfn } from '@mm/core';
import { is_device_private_page } from '../memremap/predicates.js';
import { anonVmaTable } from '../mm/anon-vma.js';
import { PTE_BIT, PTE_KIND, type VmAreaStruct } from '../mm/mm-struct.js';
import { RMAP_EXCLUSIVE, folio_add_anon_rmap_pte, folio_remove_rmap_pte, folio_try_share_anon_rmap_pte } from '../mm/rmap.js';

/**
 * The two rmap walks device migration needs (`mm/rmap.c`, `mm/migrate.c`), over the stand-in's page
 * tables: a folio's `mapping` names its anon_vma (one VMA), `index` its page offset, so its one
 * possible PTE is found directly. The core exports counted versions of both (no page tables, no
 * device-private entries); these are internal to the package and not exported.
 *
 * @module
 */

/** The VMA and address where an anonymous folio is (or was) mapped, or null. */
function anonAddress(m: Machine, folio: Folio): { vma: VmAreaStruct; addr: number } | null {
  const vma = anonVmaTable(m).vmaOf(folio);
  if (vma === null) return null;
  const addr = vma.vm_start + (m.memmap.index[folio]! - vma.vm_pgoff) * PAGE_SIZE;
  if (addr < vma.vm_start || addr >= vma.vm_end) return null;
  return { vma, addr };
}

/**
 * `try_to_migrate_one` for the PTE at `addr` (present or device-private, mapping `folio`): replace it
 * by a migration entry — writable if the PTE was, readable-exclusive if the page was PG_anon_exclusive
 * (which it loses, `folio_try_share_anon_rmap_pte`), dirty carried to the folio — remove the rmap and
 * drop the mapping's reference. The caller holds its own reference and the folio lock.
 */
export function replaceByMigrationEntry(m: Machine, vma: VmAreaStruct, addr: number, folio: Folio): void {
  const bits = vma.pteBits[vma.slot(addr)]!;
  const exclusive = (m.memmap.mapping[folio]! & FOLIO_MAPPING_ANON) !== 0 && (m.memmap.flags[folio]! & (1 << PG.anon_exclusive)) !== 0;
  if (exclusive) folio_try_share_anon_rmap_pte(m, folio, folio);
  if ((bits & PTE_BIT.dirty) !== 0) m.memmap.flags[folio]! |= 1 << PG.dirty;
  let mbits = bits & PTE_BIT.dirty;
  if ((bits & PTE_BIT.write) !== 0) mbits |= PTE_BIT.write;
  else if (exclusive) mbits |= PTE_BIT.exclusive;
  vma.setPte(addr, PTE_KIND.migration, folio, mbits);
  folio_remove_rmap_pte(m, folio, folio);
  folio_put(m, folio);
}

/**
 * `try_to_migrate(folio, flags)` (`mm/rmap.c`): find the folio's PTE through its anon_vma and, if it
 * still maps the folio, replace it by a migration entry ({@link replaceByMigrationEntry}).
 */
export function try_to_migrate(m: Machine, folio: Folio): void {
  const at = anonAddress(m, folio);
  if (at === null) return;
  const i = at.vma.slot(at.addr);
  const kind = at.vma.pteBits[i]! & 3;
  if ((kind === PTE_KIND.present || kind === PTE_KIND.device_private) && at.vma.ptePfn[i] === folio) replaceByMigrationEntry(m, at.vma, at.addr, folio);
}

/**
 * `remove_migration_ptes(src, dst, flags)` (`mm/migrate.c`): the migration entry that points at `src`
 * becomes a mapping of `dst` (`remove_migration_pte`): a reference for the mapping, a device-private
 * entry if `dst` is device-private memory, else a present PTE; writable if the entry was; the anon rmap
 * is added, exclusive unless the entry was a plain readable one. `dst === src` restores the original
 * mapping after a failed migration.
 */
export function remove_migration_ptes(m: Machine, src: Folio, dst: Folio): void {
  const at = anonAddress(m, src);
  if (at === null) return;
  const { vma, addr } = at;
  const i = vma.slot(addr);
  const bits = vma.pteBits[i]!;
  if ((bits & 3) !== PTE_KIND.migration || vma.ptePfn[i] !== src) return;
  const write = (bits & PTE_BIT.write) !== 0;
  const exclusive = write || (bits & PTE_BIT.exclusive) !== 0;
  folio_get(m, dst);
  let kind: number = PTE_KIND.present;
  let nbits = write ? PTE_BIT.write : 0;
  if (is_device_private_page(m, dst as Pfn)) kind = PTE_KIND.device_private;
  else if ((bits & PTE_BIT.dirty) !== 0 && (m.memmap.flags[dst]! & (1 << PG.dirty)) !== 0) nbits |= PTE_BIT.dirty;
  if ((m.memmap.mapping[dst]! & FOLIO_MAPPING_ANON) !== 0) folio_add_anon_rmap_pte(m, dst, dst as Pfn, exclusive ? RMAP_EXCLUSIVE : 0);
  vma.setPte(addr, kind, dst, nbits);
}
