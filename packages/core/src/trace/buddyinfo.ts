import type { Machine } from '../machine/machine.js';
import { NR_PAGE_ORDERS } from '../types.js';

/**
 * `/proc/buddyinfo` (`frag_show_print`, `mm/vmstat.c`): one line per populated zone,
 * `Node <nid>, zone <name right-aligned in 8>` and then `nr_free` of each order right-aligned in
 * width 6 followed by a space (a `%6lu ` field).
 */
export function buddyinfo(m: Machine): string {
  let out = '';
  for (const z of m.zones) {
    out += `Node ${z.nid}, zone ${z.name.padStart(8)} `;
    for (let o = 0; o < NR_PAGE_ORDERS; o++) out += `${String(z.nr_free[o]).padStart(6)} `;
    out += '\n';
  }
  return out;
}
