import { createMachine, folio_unlock, type Folio, type FreeDispatchStrategy, type Pfn } from '@mm/core';
import { kpagecount_read, kpageflags_read, stable_page_flags } from '@mm/procfs';
import { DevPagemap, MEMORY_DEVICE_GENERIC, MEMORY_DEVICE_PRIVATE, memremap_pages, request_free_mem_region, zoneDevicePlugin, zone_device_page_init } from '@mm/zone-device';
import { describe, expect, it } from 'vitest';

/**
 * kernel-semantics §11.1: `/proc/kpageflags` and `/proc/kpagecount` look every PFN up with
 * `pfn_to_online_page()`, which fails for ZONE_DEVICE PFNs, so those read as 0 — all bits clear, not
 * KPF_NOPAGE — whatever state the device page is in.
 */
describe.each(['owner-ops', 'mainline'] as FreeDispatchStrategy[])('ZONE_DEVICE PFNs in kpageflags and kpagecount (%s)', (strategy) => {
  it('read as zero, allocated or not', () => {
    const m = createMachine({ memory: '64M', strategy, debugVm: true, plugins: [zoneDevicePlugin()] });
    const priv = request_free_mem_region(m, 512)!;
    const gen = request_free_mem_region(m, 512)!;
    memremap_pages(m, new DevPagemap({ type: MEMORY_DEVICE_PRIVATE, ranges: [priv], owner: 'drv', ops: { page_free: () => undefined, migrate_to_ram: () => 0 } }));
    memremap_pages(m, new DevPagemap({ type: MEMORY_DEVICE_GENERIC, ranges: [gen], vmemmap_shift: 9 }));
    const p = priv.start as Pfn;
    zone_device_page_init(m, p); // allocated: refcount 1, PG_locked
    const flags = new DataView(kpageflags_read(m).buffer);
    const count = new DataView(kpagecount_read(m).buffer);
    // 64 MiB of RAM rounds up to one 128 MiB section, so the dump covers both device ranges.
    expect(flags.byteLength / 8).toBeGreaterThanOrEqual(gen.start + gen.nrPages);
    for (const pfn of [p, p + 1, gen.start, gen.start + 1, gen.start + 511]) {
      expect(flags.getBigUint64(pfn * 8, true)).toBe(0n);
      expect(count.getBigUint64(pfn * 8, true)).toBe(0n);
      expect(stable_page_flags(m, pfn as Pfn)).toBe(0);
    }
    // A RAM page reads non-zero (reserved by boot: KPF_RESERVED, bit 32).
    expect(flags.getBigUint64(0, true)).not.toBe(0n);
    folio_unlock(m, p as Folio);
  });
});
