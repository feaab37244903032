import type { Machine } from '../machine/machine.js';
import { NR_PAGE_ORDERS } from '../types.js';

/**
 * `frag_show()` / `frag_show_print()` (`mm/vmstat.c`): the text of `/proc/buddyinfo`, one line per
 * populated zone in node then zone-index order (`m.zones` holds only populated buddy zones),
 * `Node <nid>, zone <name right-aligned in 8>` and then `nr_free` of each order right-aligned in
 * width 6 followed by a space (a `%6lu ` field).
 */
export function frag_show(m: Machine): string {
  let out = '';
  for (const z of m.zones) {
    out += `Node ${z.nid}, zone ${z.name.padStart(8)} `;
    for (let o = 0; o < NR_PAGE_ORDERS; o++) out += `${String(z.nr_free[o]).padStart(6)} `;
    out += '\n';
  }
  return out;
}
