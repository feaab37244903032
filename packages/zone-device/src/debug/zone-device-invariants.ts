import { FOLIO_OWNER_OPS, PG, PTR_TAG_MASK, TAIL_BIT, ZONE, id_ptr, zoneFlagsByte, type InvariantCheck, type Machine } from '@mm/core';
import { injectable } from 'tsyringe';
import { DevPagemap } from '../memremap/dev-pagemap.js';
import { MEMORY_DEVICE_GENERIC, pgmapRefsPerAllocation } from '../memremap/memory-type.js';
import { ZoneDeviceState } from '../memremap/zone-device-state.js';

// Imported bindings are read once here: test transforms turn every use of an import into a property
// read on the module namespace, which is slow inside the per-page loops below.
const TYPED_LIMIT = 0xff000000 | 0;
const RESERVED = 1 << PG.reserved;
const OWNER_TAG = FOLIO_OWNER_OPS;
const TAG_MASK = PTR_TAG_MASK;
const TAIL = TAIL_BIT;

/**
 * The `debugVm` checks of kernel-semantics §13 §5 (zone device), run after every operation:
 * 1. every page of a mapped pgmap is a PG_reserved ZONE_DEVICE page of the pgmap's node; its head's
 *    first word is exactly the pgmap pointer (tagged with `FOLIO_OWNER_OPS` under `owner-ops`, bare
 *    under `mainline`), a tail's head lies in the same pgmap (all pages of a folio share one pgmap),
 *    and no word outside a pgmap's ranges carries a pgmap as its owner ops;
 * 2. PRIVATE/COHERENT: a page at refcount 0 (free in the driver) is unmapped and has no mapping, and
 *    the pgmap holds at least one reference per allocated page (plus the base and, for the other
 *    types, the up-front references while live);
 * 3. GENERIC pages never stay at refcount 0;
 * 4. no device page ever carries a page type (in particular PageBuddy): the memory never reaches the
 *    buddy allocator (the core's free-list walk covers the list side).
 */
@injectable()
export class ZoneDeviceInvariants implements InvariantCheck {
  /** The invariant family. */
  readonly name = '§5 zone device';
  /** The pages whose first word carries owner ops (`FOLIO_OWNER_OPS`), as of the last `check` or `checkChanged`. */
  private readonly tagged = new Set<number>();

  /** Throw `VmBugError` if `m` breaks §13 §5. */
  check(m: Machine): void {
    if (!m.container.isRegistered(ZoneDeviceState, true)) return;
    const lru = m.memmap.lru;
    this.tagged.clear();
    for (let p = 0; p < lru.length; p++) if ((lru[p]! & TAG_MASK) === OWNER_TAG) this.tagged.add(p);
    this.run(m);
  }

  /**
   * The same check, given that only the pages in `changed` had a memmap word written since the last
   * `check` or `checkChanged`: the pages carrying owner ops are found from `changed` instead of a
   * scan of the memmap (each is still checked against the current owner-ops table and pgmap ranges);
   * every pgmap's pages are checked whole.
   */
  checkChanged(m: Machine, changed: readonly number[]): void {
    if (!m.container.isRegistered(ZoneDeviceState, true)) return;
    const lru = m.memmap.lru;
    for (const p of changed) {
      if ((lru[p]! & TAG_MASK) === OWNER_TAG) this.tagged.add(p);
      else this.tagged.delete(p);
    }
    this.run(m);
  }

  /** Everything but the scan for pages carrying owner ops (`tagged` holds them). */
  private run(m: Machine): void {
    const st = m.container.resolve(ZoneDeviceState);
    const { flags, lru, refcount, mapcount, mapping } = m.memmap;
    const tag = m.strategy === 'owner-ops' ? OWNER_TAG : 0;
    for (const pgmap of st.pgmaps) {
      if (pgmap.machine !== m) m.vmBug('§5.1 pgmap_array', 'pgmap_array holds a pgmap that is not mapped here');
      const top = zoneFlagsByte(pgmap.nid, ZONE.DEVICE);
      const word = id_ptr(pgmap.id) | tag;
      const perAlloc = pgmapRefsPerAllocation(pgmap.type);
      let held = 0;
      let upfront = 0;
      for (const r of pgmap.ranges) {
        upfront += r.nrPages >> pgmap.vmemmap_shift;
        for (let p = r.start; p < r.start + r.nrPages; p++) {
          if (flags[p]! >>> 24 !== top) m.vmBug('§5.1 zone', `page of a node-${pgmap.nid} pgmap is not in that node's ZONE_DEVICE`, p);
          if ((flags[p]! & RESERVED) === 0) m.vmBug('§5.1 reserved', 'ZONE_DEVICE page without PG_reserved', p);
          if (mapcount[p]! < TYPED_LIMIT) m.vmBug('§5.4 never to buddy', 'ZONE_DEVICE page carries a page type', p);
          const w = lru[p]!;
          if ((w & TAIL) !== 0) {
            if (!pgmap.contains((w >>> 2) - 1)) m.vmBug('§5.1 one pgmap per folio', 'tail page whose head lies outside its pgmap', p);
            continue;
          }
          if (w !== word) m.vmBug('§5.1 pgmap word', `first word 0x${w.toString(16)} is not the pgmap pointer 0x${word.toString(16)}`, p);
          const rc = refcount[p]!;
          if (perAlloc) {
            if (rc > 0) held++;
            else if (mapcount[p] !== -1 || mapping[p] !== 0) m.vmBug('§5.2 free device page', 'page free in the driver is still mapped', p);
          } else if (rc > 0 && pgmap.type !== MEMORY_DEVICE_GENERIC) held++;
          if (pgmap.type === MEMORY_DEVICE_GENERIC && rc === 0) m.vmBug('§5.3 GENERIC at 0', 'a GENERIC page stayed at refcount 0', p);
        }
      }
      const base = pgmap.dying ? 0 : 1 + (perAlloc ? 0 : upfront);
      // Non-PRIVATE/COHERENT pages in use hold no pgmap reference of their own, except P2PDMA pool pages.
      const need = base + (perAlloc ? held : 0);
      if (pgmap.ref < need) m.vmBug('§5.2 pgmap refs', `pgmap holds ${pgmap.ref} references, needs at least ${need} (${held} pages in use)`, pgmap.ranges[0]!.start);
    }
    for (const p of this.tagged) {
      const ops = m.ownerOps.get(lru[p]! >>> 2);
      if (ops instanceof DevPagemap && !ops.contains(p)) m.vmBug('§5.1 pgmap word', 'a page outside the pgmap carries it as owner ops', p);
    }
  }
}
