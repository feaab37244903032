import { MmError } from '../debug/mm-error.js';
import { assertFolio, assertReferenced } from '../debug/validate.js';
import { EINVAL } from '../errno.js';
import type { Machine } from '../machine/machine.js';
import { LRU } from '../machine/pglist-data.js';
import { folio_nr_pages } from '../page/compound.js';
import { PG } from '../page/page-flags.js';
import { list_add, list_del } from '../alloc/page-list.js';
import { NR_NODE, NR_ZONE } from '../trace/vmstat.js';
import type { Folio } from '../types.js';
import { AS, folio_mapping } from '../mapping/address-space.js';
import { folios_put_refs_free } from './folio-put.js';
import { folio_put, folio_get } from './folio-ref.js';

/**
 * LRU lists (`mm/swap.c`, `mm/vmscan.c`, `include/linux/mm_inline.h`): one lruvec per node, five
 * lists, linked through `folio->lru`. `folio_add_lru` goes through a per-CPU batch of
 * `FOLIO_BATCH_SIZE` folios that holds a reference on each folio until it is drained, as the kernel's
 * `cpu_fbatches.lru_add` does. Reclaim, MGLRU and memcg lruvecs are not modelled.
 *
 * @module
 */

/** `FOLIO_BATCH_SIZE` (`include/linux/pagevec.h`). */
export const FOLIO_BATCH_SIZE = 31;

const F_LRU = 1 << PG.lru;
const F_ACTIVE = 1 << PG.active;
const F_UNEVICTABLE = 1 << PG.unevictable;
const F_SWAPBACKED = 1 << PG.swapbacked;
const F_MLOCKED = 1 << PG.mlocked;

/** `folio_lru_list(folio)`: which of the five lists the folio belongs on. */
export function folio_lru_list(m: Machine, folio: Folio): number {
  const f = m.memmap.flags[folio]!;
  if (f & F_UNEVICTABLE) return LRU.UNEVICTABLE;
  const base = f & F_SWAPBACKED ? LRU.INACTIVE_ANON : LRU.INACTIVE_FILE;
  return f & F_ACTIVE ? base + 1 : base;
}

function update_lru_size(m: Machine, folio: Folio, lru: number, nr: number): void {
  const top = m.memmap.flags[folio]! >>> 24;
  m.nodes[top >>> 3]!.vmstat[NR_NODE.nr_inactive_anon + lru]! += nr;
  m.zoneById[top]!.vmstat[NR_ZONE.nr_zone_inactive_anon + lru]! += nr;
}

/** `lruvec_add_folio(lruvec, folio)`: link onto the node's list and count it. */
export function lruvec_add_folio(m: Machine, folio: Folio): void {
  const lru = folio_lru_list(m, folio);
  const node = m.nodes[m.memmap.flags[folio]! >>> 27]!;
  // The unevictable "list" is not a real list: its folios keep mlock_count in the second word.
  if (lru !== LRU.UNEVICTABLE) list_add(m.memmap.lru, m.memmap.lruPrev, node.lruvec, lru, folio);
  update_lru_size(m, folio, lru, folio_nr_pages(m, folio));
}

/** `lruvec_del_folio(lruvec, folio)`: unlink from the node's list and uncount it. */
export function lruvec_del_folio(m: Machine, folio: Folio): void {
  const lru = folio_lru_list(m, folio);
  const node = m.nodes[m.memmap.flags[folio]! >>> 27]!;
  if (lru !== LRU.UNEVICTABLE) list_del(m.memmap.lru, m.memmap.lruPrev, node.lruvec, lru, folio);
  update_lru_size(m, folio, lru, -folio_nr_pages(m, folio));
}

/**
 * `folio_evictable(folio)` (`mm/internal.h`): not mlocked, and its mapping (if any) is not
 * `AS_UNEVICTABLE`.
 */
export function folio_evictable(m: Machine, folio: Folio): boolean {
  if ((m.memmap.flags[folio]! & F_MLOCKED) !== 0) return false;
  const mapping = folio_mapping(m, folio);
  return mapping === null || (mapping.flags & AS.AS_UNEVICTABLE) === 0;
}

/**
 * `lru_add(lruvec, folio)` (`mm/swap.c`): re-test evictability (an unevictable folio loses PG_active,
 * gains PG_unevictable and an mlock_count of 0; an evictable one loses PG_unevictable), set PG_lru and
 * link the folio. The `unevictable_pgs_*` events are not counted.
 */
function lru_add(m: Machine, folio: Folio): void {
  const flags = m.memmap.flags;
  flags[folio]! &= ~F_UNEVICTABLE;
  if (!folio_evictable(m, folio)) {
    flags[folio] = (flags[folio]! & ~F_ACTIVE) | F_UNEVICTABLE;
    m.memmap.lruPrev[folio] = 0; // mlock_count
  }
  flags[folio]! |= F_LRU;
  lruvec_add_folio(m, folio);
}

/**
 * `folio_batch_move_lru(fbatch, lru_add)`: move every folio of a CPU's batch onto its LRU list, then
 * drop the references the batch held (`folios_put`).
 */
function folio_batch_move_lru(m: Machine, cpu: number): void {
  const batch = m.lruAddBatch[cpu]!;
  const n = batch.count;
  if (n === 0) return;
  const folios = Array.from(batch.folios.subarray(0, n)) as Folio[];
  batch.count = 0;
  for (const f of folios) lru_add(m, f);
  // The batch holds one reference on each folio: drop them without re-validating the batch.
  folios_put_refs_free(m, folios);
  if (m.debugVm) m.checkInvariants('folio_batch_move_lru');
}

/**
 * `folio_add_lru(folio)` (`mm/swap.c`): queue the folio on this CPU's lru_add batch, taking a
 * reference for the batch; a full batch, or a large folio, drains at once. The caller holds a
 * reference; a folio already on an LRU, or active and unevictable at once, is rejected (`EINVAL`,
 * the kernel's `VM_BUG_ON_FOLIO`).
 */
export function folio_add_lru(m: Machine, folio: Folio): void {
  assertFolio(m, folio, 'folio_add_lru');
  assertReferenced(m, folio, 'folio_add_lru');
  const f = m.memmap.flags[folio]!;
  // A folio waiting in an lru_add batch has the batch's reference besides the caller's: count first.
  if ((f & F_LRU) !== 0 || ((f & F_ACTIVE) !== 0 && (f & F_UNEVICTABLE) !== 0) || (m.memmap.refcount[folio]! > 1 && inLruAddBatch(m, folio))) {
    throw new MmError(EINVAL, 'folio_add_lru: folio is already on an LRU (or active and unevictable)', {
      pfn: folio,
      rule: 'VM_BUG_ON_FOLIO(folio_test_lru(folio))',
    });
  }
  folio_get(m, folio);
  const batch = m.lruAddBatch[m.cpu]!;
  batch.folios[batch.count++] = folio;
  if (batch.count === FOLIO_BATCH_SIZE || (f & (1 << PG.head)) !== 0) folio_batch_move_lru(m, m.cpu);
}

/** True if the folio waits in some CPU's lru_add batch. */
export function inLruAddBatch(m: Machine, folio: Folio): boolean {
  for (const b of m.lruAddBatch) {
    for (let i = 0; i < b.count; i++) if (b.folios[i] === folio) return true;
  }
  return false;
}

/** `lru_add_drain_cpu(cpu)` (`mm/swap.c`): drain one CPU's lru_add batch. */
export function lru_add_drain_cpu(m: Machine, cpu: number): void {
  folio_batch_move_lru(m, cpu);
}

/** `lru_add_drain()`: drain the current CPU's batch. */
export function lru_add_drain(m: Machine): void {
  folio_batch_move_lru(m, m.cpu);
}

/** `lru_add_drain_all()`: drain every CPU's batch. */
export function lru_add_drain_all(m: Machine): void {
  for (let cpu = 0; cpu < m.lruAddBatch.length; cpu++) folio_batch_move_lru(m, cpu);
}

/**
 * `folio_isolate_lru(folio)` (`mm/vmscan.c`): if the folio is on an LRU, clear PG_lru, take a
 * reference for the isolator and unlink it; true on success. The caller must hold a reference.
 * (The caller adds `NR_ISOLATED_*`.)
 */
export function folio_isolate_lru(m: Machine, folio: Folio): boolean {
  assertFolio(m, folio, 'folio_isolate_lru');
  assertReferenced(m, folio, 'folio_isolate_lru');
  if ((m.memmap.flags[folio]! & F_LRU) === 0) return false;
  folio_get(m, folio);
  lruvec_del_folio(m, folio);
  m.memmap.flags[folio]! &= ~F_LRU;
  return true;
}

/**
 * `folio_putback_lru(folio)` (`mm/vmscan.c`): add an isolated folio back to its LRU and drop the
 * isolation reference.
 */
export function folio_putback_lru(m: Machine, folio: Folio): void {
  folio_add_lru(m, folio);
  folio_put(m, folio);
}

/**
 * `__page_cache_release(folio)` (`mm/swap.c`), the free path's LRU step: unlink a folio that is still
 * on an LRU and clear its LRU flags (`__folio_clear_lru_flags`: lru, active, unevictable); clear
 * PG_mlocked (the kernel also counts `unevictable_pgs_cleared`).
 */
export function page_cache_release(m: Machine, folio: Folio): void {
  const f = m.memmap.flags[folio]!;
  if ((f & F_LRU) !== 0) {
    lruvec_del_folio(m, folio);
    m.memmap.flags[folio]! &= ~(F_LRU | F_ACTIVE | F_UNEVICTABLE);
  }
  if ((f & F_MLOCKED) !== 0) {
    m.memmap.flags[folio]! &= ~F_MLOCKED;
    m.zoneById[f >>> 24]!.vmstat[NR_ZONE.nr_mlock]! -= folio_nr_pages(m, folio);
  }
}
