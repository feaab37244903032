import { EBUSY, EINVAL, ENOENT, ENOMEM, MmError, PAGE_SIZE, type Folio, type Machine } from '@mm/core';
import { hugetlb_cgroup_from_folio, hugetlb_cgroup_from_folio_rsvd, hugetlb_list_first, hugetlb_list_next, set_hugetlb_cgroup, set_hugetlb_cgroup_rsvd } from '../folio/hugetlb-fields.js';
import { mem_fmt, pages_per_huge_page, type Hstate } from '../hstate.js';
import type { HugetlbState } from '../state.js';
import { memparseKernel } from '../sysfs/parse.js';
import {
  PAGE_COUNTER_MAX,
  PageCounter,
  page_counter_cancel,
  page_counter_charge,
  page_counter_set_max,
  page_counter_try_charge,
  page_counter_uncharge,
} from './page-counter.js';

/**
 * The hugetlb cgroup controller (`mm/hugetlb_cgroup.c`, cgroup v2 files): per hstate a fault counter
 * (`hugepage[idx]`) and a reservation counter (`rsvd_hugepage[idx]`), hierarchical limits, the
 * `HUGETLB_MAX` event, and `css_offline` reparenting of fault charges folio by folio (rsvd charges
 * hold a css reference and are never reparented).
 *
 * Model: a cgroup is created and removed with {@link hugetlbCgroupCreate} and {@link hugetlbCgroupRmdir};
 * the "current task" of a charge is the `MmStruct` doing the fault or mmap, whose `cgroup` field
 * stands for its css_set.
 *
 * @module
 */

/** `enum hugetlb_memory_event`: the only event, `HUGETLB_MAX` (a charge hit a limit). */
export const HUGETLB_MAX = 0;

/** `struct hugetlb_cgroup`. */
export class HugetlbCgroup {
  /** Id stored (× 4) in a folio's `_hugetlb_cgroup` / `_hugetlb_cgroup_rsvd` word. */
  readonly id: number;
  /** Path below the cgroup root (`""` for the root, `"a/b"` for a grandchild). */
  readonly path: string;
  /** `parent_hugetlb_cgroup(h_cg)`, null for the root. */
  readonly parent: HugetlbCgroup | null;
  /** Child cgroups that are still online. */
  readonly children = new Set<HugetlbCgroup>();
  /** `hugepage[idx]`: fault charges, per hstate index. */
  readonly hugepage: PageCounter[];
  /** `rsvd_hugepage[idx]`: reservation charges, per hstate index. */
  readonly rsvd_hugepage: PageCounter[];
  /** `events[idx][HUGETLB_MAX]`: limit hits here or below (`hugetlb.<size>.events`). */
  readonly events: Float64Array;
  /** `events_local[idx][HUGETLB_MAX]`: limit hits by tasks of this cgroup (`.events.local`). */
  readonly events_local: Float64Array;
  /** False once `css_offline` ran (rmdir). */
  online = true;
  /** Tasks (`MmStruct`s) attached. */
  nr_tasks = 0;

  /** `hugetlb_cgroup_css_alloc()`: counters limited to "max" (`PAGE_COUNTER_MAX` rounded down to the huge page size). */
  constructor(id: number, path: string, parent: HugetlbCgroup | null, hstates: readonly Hstate[]) {
    this.id = id;
    this.path = path;
    this.parent = parent;
    this.hugepage = hstates.map((h, i) => new PageCounter(parent ? parent.hugepage[i]! : null, counterLimit(h)));
    this.rsvd_hugepage = hstates.map((h, i) => new PageCounter(parent ? parent.rsvd_hugepage[i]! : null, counterLimit(h)));
    this.events = new Float64Array(hstates.length);
    this.events_local = new Float64Array(hstates.length);
  }
}

/** The "max" value of a hugetlb page counter: `round_down(PAGE_COUNTER_MAX, pages_per_huge_page(h))`. */
function counterLimit(h: Hstate): number {
  const n = pages_per_huge_page(h);
  return Math.floor(PAGE_COUNTER_MAX / n) * n;
}

/** `hugetlb_cgroup_is_root(h_cg)`. */
export function hugetlb_cgroup_is_root(cg: HugetlbCgroup): boolean {
  return cg.parent === null;
}

/** `hugetlb_event(hugetlb, idx, event)`: count a limit hit locally and on every non-root ancestor. */
export function hugetlb_event(cg: HugetlbCgroup, idx: number): void {
  cg.events_local[idx]!++;
  for (let c: HugetlbCgroup | null = cg; c !== null && !hugetlb_cgroup_is_root(c); c = c.parent) c.events[idx]!++;
}

function charge(cg: HugetlbCgroup, idx: number, nr: number, rsvd: boolean): number {
  const counter = (rsvd ? cg.rsvd_hugepage : cg.hugepage)[idx]!;
  if (page_counter_try_charge(counter, nr) !== null) {
    hugetlb_event(cg, idx);
    return -ENOMEM;
  }
  return 0;
}

/** `hugetlb_cgroup_charge_cgroup(idx, nr_pages, &h_cg)`: charge the fault counter of `cg`; `-ENOMEM` over a limit. */
export function hugetlb_cgroup_charge_cgroup(cg: HugetlbCgroup, idx: number, nr: number): number {
  return charge(cg, idx, nr, false);
}

/** `hugetlb_cgroup_charge_cgroup_rsvd(idx, nr_pages, &h_cg)`: charge the reservation counter; `-ENOMEM` over a limit. */
export function hugetlb_cgroup_charge_cgroup_rsvd(cg: HugetlbCgroup, idx: number, nr: number): number {
  return charge(cg, idx, nr, true);
}

/** `hugetlb_cgroup_commit_charge(idx, nr_pages, h_cg, folio)`: record the fault charge on the folio (page 3). */
export function hugetlb_cgroup_commit_charge(m: Machine, cg: HugetlbCgroup, folio: Folio): void {
  set_hugetlb_cgroup(m, folio, cg.id);
}

/** `hugetlb_cgroup_commit_charge_rsvd(idx, nr_pages, h_cg, folio)`: record a reservation charge on the folio. */
export function hugetlb_cgroup_commit_charge_rsvd(m: Machine, cg: HugetlbCgroup, folio: Folio): void {
  set_hugetlb_cgroup_rsvd(m, folio, cg.id);
}

/** `hugetlb_cgroup_uncharge_cgroup(idx, nr_pages, h_cg)`: undo a fault charge not committed to a folio. */
export function hugetlb_cgroup_uncharge_cgroup(cg: HugetlbCgroup, idx: number, nr: number): void {
  page_counter_uncharge(cg.hugepage[idx]!, nr);
}

/** `hugetlb_cgroup_uncharge_cgroup_rsvd(idx, nr_pages, h_cg)`. */
export function hugetlb_cgroup_uncharge_cgroup_rsvd(cg: HugetlbCgroup, idx: number, nr: number): void {
  page_counter_uncharge(cg.rsvd_hugepage[idx]!, nr);
}

/** `hugetlb_cgroup_uncharge_folio(idx, nr_pages, folio)`: drop the folio's fault charge, if any. */
export function hugetlb_cgroup_uncharge_folio(pool: HugetlbState, h: Hstate, folio: Folio): void {
  const id = hugetlb_cgroup_from_folio(pool.m, folio);
  if (id === 0) return;
  set_hugetlb_cgroup(pool.m, folio, 0);
  page_counter_uncharge(pool.cgroups[id]!.hugepage[h.index]!, pages_per_huge_page(h));
}

/** `hugetlb_cgroup_uncharge_folio_rsvd(idx, nr_pages, folio)`: drop the reservation charge the folio carries, if any. */
export function hugetlb_cgroup_uncharge_folio_rsvd(pool: HugetlbState, h: Hstate, folio: Folio): void {
  const id = hugetlb_cgroup_from_folio_rsvd(pool.m, folio);
  if (id === 0) return;
  set_hugetlb_cgroup_rsvd(pool.m, folio, 0);
  page_counter_uncharge(pool.cgroups[id]!.rsvd_hugepage[h.index]!, pages_per_huge_page(h));
}

/**
 * `hugetlb_cgroup_migrate(old_folio, new_folio)`: move both cgroup pointers from the old folio to the
 * new one (the counters do not change: the pages charged are simply other pages now).
 */
export function hugetlb_cgroup_migrate(m: Machine, oldFolio: Folio, newFolio: Folio): void {
  set_hugetlb_cgroup(m, newFolio, hugetlb_cgroup_from_folio(m, oldFolio));
  set_hugetlb_cgroup_rsvd(m, newFolio, hugetlb_cgroup_from_folio_rsvd(m, oldFolio));
  set_hugetlb_cgroup(m, oldFolio, 0);
  set_hugetlb_cgroup_rsvd(m, oldFolio, 0);
}

/**
 * `hugetlb_cgroup_move_parent(idx, h_cg, folio)`: if `folio` is charged to `cg`, charge its parent
 * instead — the root is charged explicitly (it has no limit); for any other parent the hierarchical
 * counter already includes the pages — cancel the local counter and retarget the folio.
 */
function hugetlb_cgroup_move_parent(pool: HugetlbState, h: Hstate, cg: HugetlbCgroup, folio: Folio): void {
  if (hugetlb_cgroup_from_folio(pool.m, folio) !== cg.id) return;
  const nr = pages_per_huge_page(h);
  let parent = cg.parent;
  if (parent === null) {
    parent = pool.root_h_cgroup;
    page_counter_charge(parent.hugepage[h.index]!, nr);
  }
  page_counter_cancel(cg.hugepage[h.index]!, nr);
  set_hugetlb_cgroup(pool.m, folio, parent.id);
}

/** `hugetlb_cgroup_have_usage(h_cg)`: any fault charge left, in any hstate. */
export function hugetlb_cgroup_have_usage(cg: HugetlbCgroup): boolean {
  return cg.hugepage.some((c) => c.usage > 0);
}

/**
 * `hugetlb_cgroup_css_offline(css)` (since v6.14 walking folios): for every hstate, walk the active
 * list and move each folio charged to `cg` to its parent. The kernel repeats until the cgroup has no
 * fault usage left; folios that are isolated for migration are off the active list and get moved once
 * they are put back. The model cannot wait: it makes one pass and returns `-EBUSY` if usage remains
 * (call again after the putback), else 0.
 */
export function hugetlb_cgroup_css_offline(pool: HugetlbState, cg: HugetlbCgroup): number {
  const m = pool.m;
  for (const h of pool.hstates) {
    for (let f = hugetlb_list_first(h.hugepage_activelist, 0); f >= 0; f = hugetlb_list_next(m, f as Folio)) {
      hugetlb_cgroup_move_parent(pool, h, cg, f as Folio);
    }
  }
  return hugetlb_cgroup_have_usage(cg) ? -EBUSY : 0;
}

/** Find a cgroup by its path (`""` is the root), or null. */
export function hugetlbCgroupLookup(pool: HugetlbState, path: string): HugetlbCgroup | null {
  for (const cg of pool.cgroups) if (cg !== undefined && cg.online && cg.path === path) return cg;
  return null;
}

/**
 * `mkdir` in the cgroup hierarchy: create the hugetlb cgroup `name` under `parent` (default the root).
 * `MmError(EINVAL)` for an empty or duplicate name, or an offline parent.
 */
export function hugetlbCgroupCreate(pool: HugetlbState, name: string, parent: HugetlbCgroup = pool.root_h_cgroup): HugetlbCgroup {
  const path = parent.path === '' ? name : `${parent.path}/${name}`;
  if (!/^[^/\s]+$/.test(name) || !parent.online || hugetlbCgroupLookup(pool, path) !== null) {
    throw new MmError(EINVAL, `cannot create hugetlb cgroup "${path}"`, { rule: 'a new cgroup needs a unique name under an online parent' });
  }
  const cg = new HugetlbCgroup(pool.cgroups.length, path, parent, pool.hstates);
  pool.cgroups.push(cg);
  parent.children.add(cg);
  return cg;
}

/**
 * `rmdir` of a cgroup: `-EBUSY` while it has children or tasks (`cgroup_rmdir`), `-EINVAL` for the
 * root; otherwise `hugetlb_cgroup_css_offline` reparents its fault charges (returning `-EBUSY` if an
 * isolated folio is still charged to it, with the cgroup left online). Reservation charges stay on
 * the offline cgroup until the reservations go away.
 */
export function hugetlbCgroupRmdir(pool: HugetlbState, cg: HugetlbCgroup): number {
  if (hugetlb_cgroup_is_root(cg)) return -EINVAL;
  if (!cg.online) return -ENOENT;
  if (cg.children.size > 0 || cg.nr_tasks > 0) return -EBUSY;
  const rc = hugetlb_cgroup_css_offline(pool, cg);
  if (rc < 0) return rc;
  cg.online = false;
  cg.parent!.children.delete(cg);
  return 0;
}

/** The cgroup v2 hugetlb file names for one hstate, e.g. `hugetlb.2MB.max`. */
export function hugetlbCgroupFileNames(h: Hstate): string[] {
  const p = `hugetlb.${mem_fmt(h)}`;
  return [`${p}.max`, `${p}.current`, `${p}.rsvd.max`, `${p}.rsvd.current`, `${p}.events`, `${p}.events.local`];
}

function parseFile(pool: HugetlbState, file: string): { h: Hstate; attr: string } | null {
  const match = /^hugetlb\.(\d+[KMG]B)\.(max|current|rsvd\.max|rsvd\.current|events|events\.local)$/.exec(file);
  if (!match) return null;
  const h = pool.hstates.find((x) => mem_fmt(x) === match[1]);
  return h ? { h, attr: match[2]! } : null;
}

/**
 * Read a cgroup v2 hugetlb file (`hugetlb_cgroup_read_u64_max`, `hugetlb_events_show`): `.max` prints
 * `max` or bytes, `.current` bytes, `.events` `max <count>`. Null for a file the cgroup does not have
 * (none of them exist on the root: `CFTYPE_NOT_ON_ROOT`).
 */
export function hugetlbCgroupRead(pool: HugetlbState, cg: HugetlbCgroup, file: string): string | null {
  const f = parseFile(pool, file);
  if (f === null || hugetlb_cgroup_is_root(cg)) return null;
  const i = f.h.index;
  switch (f.attr) {
    case 'max':
    case 'rsvd.max': {
      const c = (f.attr === 'max' ? cg.hugepage : cg.rsvd_hugepage)[i]!;
      return c.max === counterLimit(f.h) ? 'max\n' : `${c.max * PAGE_SIZE}\n`;
    }
    case 'current':
      return `${cg.hugepage[i]!.usage * PAGE_SIZE}\n`;
    case 'rsvd.current':
      return `${cg.rsvd_hugepage[i]!.usage * PAGE_SIZE}\n`;
    case 'events':
      return `max ${cg.events[i]}\n`;
    default:
      return `max ${cg.events_local[i]}\n`;
  }
}

/**
 * Write a cgroup v2 hugetlb limit (`hugetlb_cgroup_write`): `max` or a byte size (`memparse`, the whole
 * string), rounded down to whole huge pages; returns the bytes written, `-EINVAL` for bad text, a
 * read-only file or the root, `-EBUSY` if the usage is already above the new limit.
 */
export function hugetlbCgroupWrite(pool: HugetlbState, cg: HugetlbCgroup, file: string, buf: string): number {
  const f = parseFile(pool, file);
  if (f === null || hugetlb_cgroup_is_root(cg)) return -EINVAL;
  if (f.attr !== 'max' && f.attr !== 'rsvd.max') return -EINVAL;
  const s = buf.trim();
  let nr: number;
  if (s === 'max') {
    nr = PAGE_COUNTER_MAX;
  } else {
    const { value, end } = memparseKernel(s);
    if (end === 0 || end !== s.length) return -EINVAL;
    nr = Math.min(Math.floor(value / PAGE_SIZE), PAGE_COUNTER_MAX);
  }
  const per = pages_per_huge_page(f.h);
  nr = Math.floor(nr / per) * per;
  const rc = page_counter_set_max((f.attr === 'max' ? cg.hugepage : cg.rsvd_hugepage)[f.h.index]!, nr);
  return rc < 0 ? rc : buf.length;
}
