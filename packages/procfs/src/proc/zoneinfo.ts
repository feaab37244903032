import { ZONE_NAMES, type Machine } from '@mm/core';
import { calculate_normal_threshold, lowmemReserve, managed, nodeZones, populated, watermarks, zone_cma_pages } from '../internal/stats.js';
import { NODE_STAT_TEXT, NUMA_STAT_TEXT, ZONE_STAT_TEXT, nodeItem, zoneItem } from './vmstat.js';

/**
 * `zoneinfo_show()` / `zoneinfo_show_print()` (`mm/vmstat.c`, v6.18): the text of `/proc/zoneinfo`.
 * Every zone index of every node is printed, populated or not (a zone the model did not create prints
 * as the kernel prints an empty one); the first populated zone of a node carries the node's stats.
 * Per-CPU pagesets show the auto-tuned `high` with its `high_min`/`high_max` bounds (`high` is 0 on a
 * CPU that has not used the zone yet, as in the kernel); `boost` and `node_unreclaimable` are 0 (no
 * watermark boosting, no kswapd).
 */
export function zoneinfo_show(m: Machine): string {
  let out = '';
  const cpus = m.config.cpus;
  for (let nid = 0; nid < m.nodes.length; nid++) {
    const zones = nodeZones(m, nid);
    const first = zones.findIndex(populated);
    zones.forEach((z, zid) => {
      out += `Node ${nid}, zone ${ZONE_NAMES[zid]!.padStart(8)}`;
      if (zid === first) {
        out += '\n  per-node stats';
        for (const n of NODE_STAT_TEXT) out += `\n      ${n.padEnd(12)} ${nodeItem(m, nid, n)}`;
      }
      const [min, low, high, promo] = watermarks(z, zid);
      out +=
        `\n  pages free     ${zoneItem(z, 'nr_free_pages')}` +
        `\n        boost    0` +
        `\n        min      ${min}` +
        `\n        low      ${low}` +
        `\n        high     ${high}` +
        `\n        promo    ${promo}` +
        `\n        spanned  ${z ? z.spanned_pages : 0}` +
        `\n        present  ${z ? z.present_pages : 0}` +
        `\n        managed  ${managed(z)}` +
        `\n        cma      ${zone_cma_pages(m, z)}` +
        `\n        protection: (${lowmemReserve(z).join(', ')})`;
      if (!populated(z)) {
        out += '\n';
        return;
      }
      for (const n of ZONE_STAT_TEXT) out += `\n      ${n.padEnd(12)} ${zoneItem(z, n)}`;
      for (const n of NUMA_STAT_TEXT) out += `\n      ${n.padEnd(12)} 0`;
      out += '\n  pagesets';
      const threshold = calculate_normal_threshold(z, cpus);
      z.per_cpu_pageset.forEach((pcp, cpu) => {
        out +=
          `\n    cpu: ${cpu}` +
          `\n              count:    ${pcp.count}` +
          `\n              high:     ${pcp.high}` +
          `\n              batch:    ${pcp.batch}` +
          `\n              high_min: ${pcp.high_min}` +
          `\n              high_max: ${pcp.high_max}` +
          `\n  vm stats threshold: ${threshold}`;
      });
      out += `\n  node_unreclaimable:  0\n  start_pfn:           ${z.zone_start_pfn}\n`;
    });
  }
  return out;
}
