import { MIGRATETYPE_NAMES, MIGRATE_TYPES, NR_PAGE_ORDERS, get_pfnblock_migratetype, pageblock_nr_pages, pageblock_order, type Machine } from '@mm/core';
import { nodeZones, populated } from '../internal/stats.js';

/**
 * `pagetypeinfo_show()` (`mm/vmstat.c`): the text of `/proc/pagetypeinfo` (mode 0400 in the kernel).
 * For each node with memory: the pageblock order and size, free blocks per zone, migratetype and order
 * (a list longer than 100000 entries prints `>100000`, as the kernel caps its walk), then the number of
 * pageblocks of each migratetype per zone (MIGRATE_ISOLATE for blocks with the isolate bit, as
 * `get_pageblock_migratetype` reports them). The PAGE_OWNER "mixed blocks" table is not printed.
 */
export function pagetypeinfo_show(m: Machine): string {
  let out = '';
  for (let nid = 0; nid < m.nodes.length; nid++) {
    const zones = nodeZones(m, nid).filter(populated);
    if (zones.length === 0) continue;
    out += `Page block order: ${pageblock_order}\nPages per block:  ${pageblock_nr_pages}\n\n`;
    out += 'Free pages count per migrate type at order'.padEnd(43) + ' ';
    for (let o = 0; o < NR_PAGE_ORDERS; o++) out += `${String(o).padStart(6)} `;
    out += '\n';
    for (const z of zones) {
      for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
        out += `Node ${String(nid).padStart(4)}, zone ${z.name.padStart(8)}, type ${MIGRATETYPE_NAMES[mt]!.padStart(12)} `;
        for (let o = 0; o < NR_PAGE_ORDERS; o++) {
          const n = z.free_list.counts[o * MIGRATE_TYPES + mt]!;
          out += n >= 100000 ? `>${'100000'.padStart(6)} ` : `${String(n).padStart(6)} `;
        }
        out += '\n';
      }
    }
    out += '\n' + 'Number of blocks type '.padEnd(23);
    for (let mt = 0; mt < MIGRATE_TYPES; mt++) out += `${MIGRATETYPE_NAMES[mt]!.padStart(12)} `;
    out += '\n';
    for (const z of zones) {
      const count = new Array<number>(MIGRATE_TYPES).fill(0);
      const flags = m.memmap.flags;
      for (let pfn = z.zone_start_pfn; pfn < z.zone_end_pfn; pfn += pageblock_nr_pages) {
        if (flags[pfn]! >>> 24 !== z.id) continue; // pfn_to_online_page() and page_zone(page) == zone
        count[get_pfnblock_migratetype(m, pfn)]!++;
      }
      out += `Node ${nid}, zone ${z.name.padStart(8)} ` + count.map((c) => `${String(c).padStart(12)} `).join('') + '\n';
    }
  }
  return out;
}
