import { page_counter_uncharge } from '../cgroup/page-counter.js';
import type { HugetlbCgroup } from '../cgroup/hugetlb-cgroup.js';
import { pages_per_huge_page, type Hstate } from '../hstate.js';

/**
 * `struct resv_map` and the region functions (`mm/hugetlb.c`): a set of huge-page index ranges.
 * For a **shared** mapping the map belongs to the inode and a range in it means "reserved or
 * instantiated"; for a **private** mapping the map belongs to the owning VMA and a range means
 * "reservation consumed" (the inverse meaning). Each region of an inode's map remembers which cgroup's
 * reservation counter to uncharge when it is deleted.
 *
 * Model: regions are a sorted array of disjoint `[from, to)` ranges; the kernel's region cache and the
 * `adds_in_progress` protocol for concurrent `region_chg`/`region_add` are kept only as a counter
 * (the model is single-threaded, so `region_add` always adds what `region_chg` counted).
 *
 * @module
 */

/** `struct file_region`. */
export interface FileRegion {
  /** First huge-page index. */
  from: number;
  /** One past the last. */
  to: number;
  /** `reservation_counter`/`css`: the cgroup whose rsvd counter this region's reservations charged, or null. */
  cg: HugetlbCgroup | null;
}

/** `struct resv_map`. */
export class ResvMap {
  /** `regions`, sorted and disjoint. */
  readonly regions: FileRegion[] = [];
  /** `adds_in_progress`. */
  adds_in_progress = 0;
  /** `reservation_counter`/`css` of a private mapping's map (set at mmap, uncharged at close). */
  reservation_cg: HugetlbCgroup | null = null;
  /** `pages_per_hpage`: set once a cgroup is recorded. */
  pages_per_hpage = 0;
  /** hstate index of the recorded cgroup charge. */
  hstate_index = 0;
}

/** `resv_map_alloc()`. */
export function resv_map_alloc(): ResvMap {
  return new ResvMap();
}

/** Pages of `[f, t)` covered by the map. */
function covered(resv: ResvMap, f: number, t: number): number {
  let n = 0;
  for (const rg of resv.regions) {
    if (rg.to <= f) continue;
    if (rg.from >= t) break;
    n += Math.min(rg.to, t) - Math.max(rg.from, f);
  }
  return n;
}

/**
 * `region_chg(resv, f, t, &out_regions_needed)`: how many pages of `[f, t)` are not yet in the map,
 * i.e. what `region_add` would add. Counts an add in progress.
 */
export function region_chg(resv: ResvMap, f: number, t: number): number {
  resv.adds_in_progress++;
  return t - f - covered(resv, f, t);
}

/** `region_abort(resv, f, t, regions_needed)`: the add counted by `region_chg` will not happen. */
export function region_abort(resv: ResvMap, _f: number, _t: number): void {
  if (resv.adds_in_progress > 0) resv.adds_in_progress--;
}

/**
 * `region_add(resv, f, t, in_regions_needed, h, h_cg)`: add the missing parts of `[f, t)`, recording
 * `cg` (may be null) as their uncharge info, coalescing with neighbours that have the same info.
 * Returns the number of pages added.
 */
export function region_add(resv: ResvMap, f: number, t: number, h: Hstate | null, cg: HugetlbCgroup | null): number {
  if (resv.adds_in_progress > 0) resv.adds_in_progress--;
  if (cg !== null && h !== null && resv.pages_per_hpage === 0) resv.pages_per_hpage = pages_per_huge_page(h);
  const r = resv.regions;
  let i = 0;
  while (i < r.length && r[i]!.to <= f) i++;
  let cur = f;
  let added = 0;
  while (cur < t) {
    if (i < r.length && r[i]!.from <= cur) {
      cur = Math.max(cur, r[i]!.to);
      i++;
      continue;
    }
    const end = i < r.length ? Math.min(t, r[i]!.from) : t;
    // coalesce_file_region(): extend a touching neighbour with the same uncharge info.
    if (i > 0 && r[i - 1]!.to === cur && r[i - 1]!.cg === cg) r[i - 1]!.to = end;
    else r.splice(i++, 0, { from: cur, to: end, cg });
    if (i < r.length && r[i]!.from === end && r[i]!.cg === cg) {
      r[i - 1]!.to = r[i]!.to;
      r.splice(i, 1);
    }
    added += end - cur;
    cur = end;
  }
  return added;
}

/**
 * `region_del(resv, f, t)`: remove `[f, t)` from the map, splitting regions as needed; for an inode's
 * map each removed page uncharges the reservation counter recorded on its region
 * (`hugetlb_cgroup_uncharge_file_region`). Returns the number of pages removed.
 */
export function region_del(resv: ResvMap, f: number, t: number): number {
  let del = 0;
  const out: FileRegion[] = [];
  for (const rg of resv.regions) {
    if (rg.to <= f || rg.from >= t) {
      out.push(rg);
      continue;
    }
    const lo = Math.max(rg.from, f);
    const hi = Math.min(rg.to, t);
    del += hi - lo;
    if (rg.cg !== null && resv.reservation_cg === null && resv.pages_per_hpage > 0) {
      page_counter_uncharge(rg.cg.rsvd_hugepage[resv.hstate_index]!, (hi - lo) * resv.pages_per_hpage);
    }
    if (rg.from < lo) out.push({ from: rg.from, to: lo, cg: rg.cg });
    if (hi < rg.to) out.push({ from: hi, to: rg.to, cg: rg.cg });
  }
  resv.regions.length = 0;
  resv.regions.push(...out);
  return del;
}

/** `region_count(resv, f, t)`: pages of `[f, t)` in the map. */
export function region_count(resv: ResvMap, f: number, t: number): number {
  return covered(resv, f, t);
}
