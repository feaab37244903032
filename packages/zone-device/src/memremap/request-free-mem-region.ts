import { EINVAL, MAX_MEMMAP_PAGES, MmError, type Machine, type PfnRange } from '@mm/core';
import { zoneDeviceState } from './zone-device-state.js';

/** `PAGES_PER_SUBSECTION` on x86-64: memory hotplug and `memremap_pages` work in 2 MiB subsections. */
export const PAGES_PER_SUBSECTION = 512;

function overlaps(a: PfnRange, start: number, n: number): boolean {
  return a.start < start + n && start < a.start + a.nrPages;
}

/**
 * `request_free_mem_region(base, size, name)` (`kernel/resource.c`): claim `nrPages` of physical
 * address space that is neither RAM nor claimed, for device-private memory. Difference: the kernel
 * searches down from the top of the physical address space; the model searches up from the first
 * subsection above `max_pfn`, so that the memmap stays small. Returns the range, or null if no room
 * is left below the model's 2^30-page memmap limit. `MmError(EINVAL)` for a size that is not a whole
 * number of 2 MiB subsections.
 */
export function request_free_mem_region(m: Machine, nrPages: number): PfnRange | null {
  if (!(Number.isInteger(nrPages) && nrPages > 0 && nrPages % PAGES_PER_SUBSECTION === 0)) {
    throw new MmError(EINVAL, `request_free_mem_region: ${nrPages} pages is not a whole number of subsections`, {
      rule: 'device memory comes in 2 MiB subsections',
    });
  }
  const st = zoneDeviceState(m);
  const taken: PfnRange[] = [...st.resources];
  for (const p of st.pgmaps) taken.push(...p.ranges);
  let start = Math.ceil(m.max_pfn / PAGES_PER_SUBSECTION) * PAGES_PER_SUBSECTION;
  for (;;) {
    const hit = taken.find((r) => overlaps(r, start, nrPages));
    if (!hit) break;
    start = Math.ceil((hit.start + hit.nrPages) / PAGES_PER_SUBSECTION) * PAGES_PER_SUBSECTION;
  }
  if (start + nrPages > MAX_MEMMAP_PAGES) return null;
  const r = { start, nrPages };
  st.resources.push(r);
  return r;
}

/** `release_mem_region(start, n)` (`kernel/resource.c`): give back a region from `request_free_mem_region`. */
export function release_mem_region(m: Machine, range: PfnRange): void {
  const st = zoneDeviceState(m);
  const i = st.resources.findIndex((r) => r.start === range.start && r.nrPages === range.nrPages);
  if (i < 0) throw new MmError(EINVAL, `release_mem_region: [${range.start}, +${range.nrPages}) was not requested`, { rule: 'release what was requested' });
  st.resources.splice(i, 1);
}
