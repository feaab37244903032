import type { Machine } from '../machine/machine.js';
import type { InvariantCheck } from '../machine/plugin.js';
import { folio_nr_pages } from '../page/compound.js';
import { PG } from '../page/page-flags.js';
import { NR_NODE } from '../trace/vmstat.js';

const ISO = 1 << PG.movable_ops_isolated;
const MOPS = 1 << PG.movable_ops;
const HEAD = 1 << PG.head;

/**
 * The migration core's `CONFIG_DEBUG_VM` checks (kernel-semantics §13, §9 and the mapping model),
 * run with the core's after every operation on a `debugVm` machine:
 * - §9.1: a page with PG_movable_ops_isolated has PG_movable_ops and holds a reference (the
 *   isolation reference);
 * - NR_ISOLATED_ANON / NR_ISOLATED_FILE never go negative;
 * - every page-cache and swap-cache slot names a folio whose `mapping` / swap entry and `index` point
 *   back at it, and `nrpages` counts the slots;
 * - a mapped folio holds at least one reference per mapping (`refcount ≥ folio_mapcount`).
 */
export class MigrationInvariants implements InvariantCheck {
  /** Invariant family name. */
  readonly name = '§9 migration';

  /** Throw `VmBugError` if the machine breaks one of the invariants above. */
  check(m: Machine): void {
    const n = m.memmap.flags.length;
    for (let p = 0; p < n; p++) this.checkPage(m, p);
    this.checkGlobal(m);
  }

  /**
   * The same check when only the pages `changed` had a memmap word written since the previous one
   * (see `InvariantCheck.checkChanged`): a page's rules read its own words and, for a head, the
   * `_large_mapcount` word of the page after it, so the pages to check again are `changed` and the
   * page before each; the counters and the page cache are checked whole.
   */
  checkChanged(m: Machine, changed: readonly number[]): void {
    const n = m.memmap.flags.length;
    for (const p of changed) {
      if (p < n) this.checkPage(m, p);
      if (p > 0 && p - 1 < n) this.checkPage(m, p - 1);
    }
    this.checkGlobal(m);
  }

  /** The per-page rules (§9.1, §2.5) for page `p`. */
  private checkPage(m: Machine, p: number): void {
    const mm = m.memmap;
    const f = mm.flags[p]!;
    if (f >>> 24 === 0xff) return;
    const v = mm.mapcount[p]!;
    if (v < (0xff000000 | 0)) {
      if ((f & ISO) !== 0 && ((f & MOPS) === 0 || mm.refcount[p]! < 1)) {
        m.vmBug('§9.1 movable_ops isolation', 'PG_movable_ops_isolated without PG_movable_ops or without the isolation reference', p);
      }
      return;
    }
    if ((mm.lru[p]! & 1) !== 0) return;
    const mc = (f & HEAD) !== 0 ? (mm.lruPrev[p + 1]! | 0) + 1 : v + 1;
    if (mc > 0 && mm.refcount[p]! < mc) m.vmBug('§2.5 mapped folio references', `folio mapped ${mc} times holds ${mm.refcount[p]} references`, p);
  }

  /** The rules that are not per page: NR_ISOLATED_* and the page cache. */
  private checkGlobal(m: Machine): void {
    const mm = m.memmap;
    for (const node of m.nodes) {
      if (node.vmstat[NR_NODE.nr_isolated_anon]! < 0 || node.vmstat[NR_NODE.nr_isolated_file]! < 0) {
        m.vmBug('§9 NR_ISOLATED', `node ${node.node_id}: NR_ISOLATED_ANON ${node.vmstat[NR_NODE.nr_isolated_anon]}, NR_ISOLATED_FILE ${node.vmstat[NR_NODE.nr_isolated_file]}`);
      }
    }
    const t = m.mappings;
    for (const as of t.spaces) {
      if (!as) continue;
      const swap = as === t.swapper;
      let slots = 0;
      for (const [index, folio] of as.i_pages) {
        slots++;
        const ok = swap
          ? (mm.flags[folio]! & (1 << PG.swapcache)) !== 0 && index >= mm.private[folio]! && index < mm.private[folio]! + folio_nr_pages(m, folio)
          : mm.mapping[folio] === as.ptr && index >= mm.index[folio]! && index < mm.index[folio]! + folio_nr_pages(m, folio);
        if (!ok) m.vmBug('page cache', `${as.name}[${index}] names a folio that does not point back at it`, folio);
      }
      if (slots !== as.nrpages) m.vmBug('page cache', `${as.name}: ${slots} slots, nrpages ${as.nrpages}`);
    }
  }
}
