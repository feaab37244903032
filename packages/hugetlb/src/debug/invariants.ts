import { FOLIO_OWNER_OPS, PGTY, PTR_TAG_MASK, ptr_id, type InvariantCheck, type Machine } from '@mm/core';
import { HPG } from '../folio/hugetlb-flags.js';
import { hugetlb_cgroup_from_folio, hugetlb_list_first, hugetlb_list_linked, hugetlb_list_next } from '../folio/hugetlb-fields.js';
import { pages_per_huge_page, type Hstate } from '../hstate.js';
import type { HugetlbState } from '../state.js';

// Read once: an imported binding is a getter call per access under the CommonJS transpilation of tsx and vitest.
const HUGETLB_TYPE = PGTY.hugetlb;
const TYPED_LIMIT = 0xff000000 | 0;

/**
 * The `debugVm` check of kernel-semantics §13 §4 (plus the series-1 rule §13 §2.5 for hugetlb
 * folios), run after every operation:
 *
 * 1. every hugetlb folio is in exactly one state — FREE (its node's free list, refcount 0, `freed`),
 *    ACTIVE (the active list, refcount ≥ 1, not `freed`), ISOLATED (refcount ≥ 1, not `migratable`, no
 *    owner ops, off the hugetlb lists) or TRANSIENT (a temporary folio not yet on a list) — and under
 *    the owner-ops strategy a FREE or ACTIVE folio carries hugetlb's owner ops, an ISOLATED one none;
 * 2. `free = Σ free_node = |free lists|`, `nr = Σ nr_node` = the folios found, `surplus = Σ surplus_node`,
 *    `surplus_node ≤ nr_node`, `0 ≤ resv ≤ free`;
 * 3. a FREE folio carries no `restore_reserve`, `migratable`, `temporary` and no cgroup charge;
 * 4. (`max == nr − surplus` is asserted at the end of every resize, not here: dissolving a surplus
 *    folio lowers `max` without lowering the persistent count, as the kernel does);
 * 5. every cgroup's fault usage equals the folios charged to it and its descendants, offline cgroups
 *    have none, and no folio is charged to an offline cgroup.
 */
export class HugetlbInvariants implements InvariantCheck {
  /** `"§4 hugetlb"`. */
  readonly name = '§4 hugetlb';
  private readonly pool: HugetlbState;

  /** The check of one machine's hugetlb. */
  constructor(pool: HugetlbState) {
    this.pool = pool;
  }

  /** Throw `VmBugError` on the first violation. */
  check(m: Machine): void {
    this.run(m, null);
  }

  /**
   * The same check when only the pages `changed` had a memmap word written since the previous call
   * (`InvariantCheck.checkChanged`): everything but the whole-memmap scan for hugetlb folios in no
   * known state (rule 1) is the same walk of the lists and sets; that scan looks only at `changed`
   * and the folios the previous call found in a state (a page in neither was not a hugetlb head
   * then, where the rule held, and is not one now). After a call that threw, or the first time, it
   * is `check`.
   */
  checkChanged(m: Machine, changed: readonly number[]): void {
    this.run(m, this.seen === null ? null : changed);
  }

  /** The folios the previous call found in a state, if it passed (else null). */
  private seen: ReadonlyMap<number, string> | null = null;

  /** The check; `changed` null: scan the whole memmap for untracked hugetlb folios, else as `checkChanged`. */
  private run(m: Machine, changed: readonly number[] | null): void {
    const prevSeen = this.seen;
    this.seen = null;
    const pool = this.pool;
    const seen = new Map<number, string>();
    const local = pool.cgroups.map(() => pool.hstates.map(() => 0));
    const ownerId = m.ownerOps.idOf(pool.ownerOps);
    const series1 = m.strategy === 'owner-ops';
    const tagOk = (f: number, want: boolean): boolean => {
      const w = m.memmap.lru[f]!;
      const tagged = (w & PTR_TAG_MASK) === FOLIO_OWNER_OPS && ptr_id(w) === ownerId;
      return tagged === (want && series1);
    };
    const charge = (h: Hstate, f: number, state: string): void => {
      const id = hugetlb_cgroup_from_folio(m, f as never);
      if (id === 0) return;
      const cg = pool.cgroups[id];
      if (cg === undefined || !cg.online) m.vmBug('§4.5 hugetlb cgroup', `${state} folio charged to offline cgroup ${id}`, f);
      local[id]![h.index]! += pages_per_huge_page(h);
    };
    for (const h of pool.hstates) {
      const nrFound = new Float64Array(m.nodes.length);
      let free = 0;
      for (let nid = 0; nid < m.nodes.length; nid++) {
        let n = 0;
        for (let f = hugetlb_list_first(h.hugepage_freelists, nid); f >= 0; f = hugetlb_list_next(m, f as never)) {
          if (++n > m.memmap.flags.length) m.vmBug('§4.1 hugetlb states', `free list ${nid} of ${h.name} loops`, f);
          this.folioCommon(m, h, f, 'FREE', seen);
          const flags = m.memmap.private[f]!;
          if ((m.memmap.flags[f]! >>> 27) !== nid) m.vmBug('§4.1 hugetlb states', `FREE folio on node ${nid}'s list belongs to another node`, f);
          if (m.memmap.refcount[f] !== 0 || !(flags & (1 << HPG.freed))) m.vmBug('§4.1 hugetlb states', 'FREE folio not frozen or not freed', f);
          if (flags & ((1 << HPG.restore_reserve) | (1 << HPG.migratable) | (1 << HPG.temporary))) m.vmBug('§4.3 hugetlb flags', 'FREE folio with restore_reserve/migratable/temporary', f);
          if (hugetlb_cgroup_from_folio(m, f as never) !== 0 || m.memmap.index[f + 3] !== 0) m.vmBug('§4.5 hugetlb cgroup', 'FREE folio still charged', f);
          if (!tagOk(f, true)) m.vmBug('§2.5 owner ops', 'FREE hugetlb folio without exactly hugetlb owner ops (series 1)', f);
          nrFound[nid]!++;
        }
        if (n !== h.free_huge_pages_node[nid] || n !== h.hugepage_freelists.counts[nid]) {
          m.vmBug('§4.2 hugetlb counters', `${h.name} node ${nid}: ${n} folios on the free list, free_huge_pages_node ${h.free_huge_pages_node[nid]}`);
        }
        free += n;
      }
      if (free !== h.free_huge_pages) m.vmBug('§4.2 hugetlb counters', `${h.name}: free_huge_pages ${h.free_huge_pages} but ${free} on the free lists`);
      let n = 0;
      for (let f = hugetlb_list_first(h.hugepage_activelist, 0); f >= 0; f = hugetlb_list_next(m, f as never)) {
        if (++n > m.memmap.flags.length) m.vmBug('§4.1 hugetlb states', `active list of ${h.name} loops`, f);
        this.folioCommon(m, h, f, 'ACTIVE', seen);
        if (!(m.memmap.refcount[f]! >= 1) || m.memmap.private[f]! & (1 << HPG.freed)) m.vmBug('§4.1 hugetlb states', 'ACTIVE folio at refcount 0 or freed', f);
        if (!tagOk(f, true)) m.vmBug('§2.5 owner ops', 'ACTIVE hugetlb folio without exactly hugetlb owner ops (series 1)', f);
        charge(h, f, 'ACTIVE');
        nrFound[m.memmap.flags[f]! >>> 27]!++;
      }
      for (const f of pool.isolated) {
        if (((m.memmap.flags[f + 1]! & 0xff) !== h.order)) continue;
        this.folioCommon(m, h, f, 'ISOLATED', seen);
        if (!(m.memmap.refcount[f]! >= 1) || m.memmap.private[f]! & ((1 << HPG.migratable) | (1 << HPG.freed))) m.vmBug('§4.1 hugetlb states', 'ISOLATED folio without the isolation reference, or migratable', f);
        if (!tagOk(f, false) || hugetlb_list_linked(m, f as never)) m.vmBug('§2.5 owner ops', 'ISOLATED hugetlb folio with owner ops or on a hugetlb list', f);
        charge(h, f, 'ISOLATED');
        nrFound[m.memmap.flags[f]! >>> 27]!++;
      }
      for (const f of pool.transient) {
        if (((m.memmap.flags[f + 1]! & 0xff) !== h.order)) continue;
        this.folioCommon(m, h, f, 'TRANSIENT', seen);
        if (hugetlb_list_linked(m, f as never)) m.vmBug('§4.1 hugetlb states', 'TRANSIENT folio on a hugetlb list', f);
        charge(h, f, 'TRANSIENT');
        nrFound[m.memmap.flags[f]! >>> 27]!++;
      }
      for (const [f, lent] of pool.lent) if (lent.h === h) nrFound[m.memmap.flags[f]! >>> 27]!++;
      let nr = 0;
      let surplus = 0;
      for (let nid = 0; nid < m.nodes.length; nid++) {
        if (nrFound[nid] !== h.nr_huge_pages_node[nid]) m.vmBug('§4.2 hugetlb counters', `${h.name} node ${nid}: nr_huge_pages_node ${h.nr_huge_pages_node[nid]} but ${nrFound[nid]} folios`);
        if (!(h.surplus_huge_pages_node[nid]! >= 0 && h.surplus_huge_pages_node[nid]! <= h.nr_huge_pages_node[nid]!)) {
          m.vmBug('§4.2 hugetlb counters', `${h.name} node ${nid}: surplus ${h.surplus_huge_pages_node[nid]} of ${h.nr_huge_pages_node[nid]}`);
        }
        nr += h.nr_huge_pages_node[nid]!;
        surplus += h.surplus_huge_pages_node[nid]!;
      }
      if (nr !== h.nr_huge_pages || surplus !== h.surplus_huge_pages) m.vmBug('§4.2 hugetlb counters', `${h.name}: nr ${h.nr_huge_pages}/${nr}, surplus ${h.surplus_huge_pages}/${surplus} (global/Σ nodes)`);
      if (!(h.resv_huge_pages >= 0 && h.resv_huge_pages <= h.free_huge_pages)) m.vmBug('§4.2 hugetlb counters', `${h.name}: resv_huge_pages ${h.resv_huge_pages} with ${h.free_huge_pages} free`);
    }
    for (const lent of pool.lent.values()) if (lent.cgroup !== 0) local[lent.cgroup]![lent.h.index]! += pages_per_huge_page(lent.h);
    if (changed === null || prevSeen === null) this.checkUntracked(m, seen);
    else {
      for (const p of changed) this.checkUntrackedPage(m, seen, p);
      for (const p of prevSeen.keys()) this.checkUntrackedPage(m, seen, p);
    }
    this.checkCgroups(m, local);
    this.seen = seen;
  }

  private folioCommon(m: Machine, h: Hstate, f: number, state: string, seen: Map<number, string>): void {
    const prev = seen.get(f);
    if (prev !== undefined) m.vmBug('§4.1 hugetlb states', `folio is both ${prev} and ${state}`, f);
    seen.set(f, state);
    const v = m.memmap.mapcount[f]!;
    if (!(v >>> 24 === PGTY.hugetlb && v < (0xff000000 | 0)) || (m.memmap.flags[f + 1]! & 0xff) !== h.order) {
      m.vmBug('§4.1 hugetlb states', `${state} folio lacks the hugetlb type or has the wrong order for ${h.name}`, f);
    }
  }

  /** Every hugetlb-typed head must be in one of the states above. */
  private checkUntracked(m: Machine, seen: Map<number, string>): void {
    const mc = m.memmap.mapcount;
    const n = mc.length;
    for (let p = 0; p < n; p++) {
      const v = mc[p]!;
      if (v >>> 24 === HUGETLB_TYPE && v < TYPED_LIMIT && !seen.has(p)) this.untracked(m, p);
    }
  }

  /** Page `p`, if a hugetlb-typed head, is in one of the states above. */
  private checkUntrackedPage(m: Machine, seen: Map<number, string>, p: number): void {
    const v = m.memmap.mapcount[p];
    if (v !== undefined && v >>> 24 === HUGETLB_TYPE && v < TYPED_LIMIT && !seen.has(p)) this.untracked(m, p);
  }

  private untracked(m: Machine, p: number): never {
    m.vmBug('§4.1 hugetlb states', 'hugetlb folio on no list and in no known state', p);
  }

  private checkCgroups(m: Machine, local: number[][]): void {
    const pool = this.pool;
    const expect = (id: number, i: number): number => {
      const cg = pool.cgroups[id]!;
      let sum = local[id]![i]!;
      for (const c of cg.children) sum += expect(c.id, i);
      return sum;
    };
    for (const cg of pool.cgroups) {
      if (cg === undefined) continue;
      for (let i = 0; i < pool.hstates.length; i++) {
        const usage = cg.hugepage[i]!.usage;
        if (!cg.online) {
          if (usage !== 0) m.vmBug('§4.5 hugetlb cgroup', `offline cgroup ${cg.path} still has fault usage ${usage}`);
          continue;
        }
        if (usage !== expect(cg.id, i)) m.vmBug('§4.5 hugetlb cgroup', `cgroup "${cg.path}" ${pool.hstates[i]!.name}: usage ${usage}, folios charged ${expect(cg.id, i)}`);
        if (cg.rsvd_hugepage[i]!.usage < 0) m.vmBug('§4.5 hugetlb cgroup', `cgroup "${cg.path}" negative reservation usage`);
      }
    }
  }
}
