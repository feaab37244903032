import { ENXIO, Machine, MmError, ZONE, Zone, type PfnRange } from '@mm/core';
import { inject, injectable } from 'tsyringe';
import type { DevPagemap } from './dev-pagemap.js';

/**
 * The per-machine ZONE_DEVICE state `zoneDevicePlugin` registers: `pgmap_array` (every mapped pgmap,
 * live or dying, found by PFN), the claimed device-memory resources (the model's `iomem_resource` for
 * regions handed out by `request_free_mem_region`), and one `ZONE_DEVICE` {@link Zone} per node,
 * created on first use and registered in `m.zoneById` and the node's `node_zones` — never in
 * `m.zones`, which lists the buddy allocator's zones.
 */
@injectable()
export class ZoneDeviceState {
  /** `pgmap_array`: every mapped pgmap. */
  readonly pgmaps: DevPagemap[] = [];
  /** Device-memory regions claimed with `request_free_mem_region`. */
  readonly resources: PfnRange[] = [];

  /**
   * The state of machine `m`.
   *
   * @param m - The machine this state belongs to.
   */
  constructor(@inject(Machine) readonly m: Machine) {}

  /** `xa_load(&pgmap_array, pfn)`: the pgmap whose range holds `pfn`, or null. */
  lookup(pfn: number): DevPagemap | null {
    for (const p of this.pgmaps) if (p.contains(pfn)) return p;
    return null;
  }

  /** `NODE_DATA(nid)->node_zones[ZONE_DEVICE]`, created empty on first use. */
  deviceZone(nid: number): Zone {
    const node = this.m.nodes[nid]!;
    let z = node.node_zones[ZONE.DEVICE];
    if (!z) {
      z = new Zone(nid, ZONE.DEVICE, 0, 0, this.m.config.cpus);
      node.node_zones[ZONE.DEVICE] = z;
      this.m.zoneById[z.id] = z;
    }
    return z;
  }

  /**
   * `resize_zone_range` / `shrink_zone_span`: the node's ZONE_DEVICE spans exactly its mapped pgmaps.
   * `present_pages` and `managed_pages` stay 0: device pages are never onlined to the buddy allocator.
   */
  resizeZone(nid: number): void {
    const z = this.deviceZone(nid);
    let lo = Infinity;
    let hi = 0;
    for (const p of this.pgmaps) {
      if (p.nid !== nid) continue;
      for (const r of p.ranges) {
        lo = Math.min(lo, r.start);
        hi = Math.max(hi, r.start + r.nrPages);
      }
    }
    z.zone_start_pfn = lo === Infinity ? 0 : lo;
    z.spanned_pages = lo === Infinity ? 0 : hi - lo;
  }
}

/**
 * The machine's {@link ZoneDeviceState}. Without `zoneDevicePlugin()` the machine has no
 * CONFIG_ZONE_DEVICE: `MmError(ENXIO)`, as the kernel's `devm_memremap_pages` stub returns.
 */
export function zoneDeviceState(m: Machine): ZoneDeviceState {
  if (!m.container.isRegistered(ZoneDeviceState, true)) {
    throw new MmError(ENXIO, 'ZONE_DEVICE is not configured on this machine (register zoneDevicePlugin())', {
      rule: 'CONFIG_ZONE_DEVICE: memremap_pages needs the zone-device plugin',
    });
  }
  return m.container.resolve(ZoneDeviceState);
}
