import { PageOffline, list_next, type Machine, type Pfn } from '@mm/core';
import { BalloonState, balloon_page_device } from '@mm/balloon';
import type { PageOwnerDescriber } from '../page-owner-describer.js';

/**
 * Balloon pages: PageOffline pages on a balloon device's `pages` list, or (isolated for migration)
 * whose `page->private` names a device (`balloon_page_device`).
 */
export const balloonDescriber: PageOwnerDescriber = {
  owner: 'balloon',
  kinds: [{ name: 'balloon (inflated)', color: '#e070c0', owner: 'balloon' }],
  classifier(m: Machine) {
    const onList = new Set<number>();
    for (const b of m.container.resolve(BalloonState).devices) {
      if (b === undefined) continue;
      for (let p = b.pages.heads[0]!; p >= 0; p = list_next(m.memmap.lru, p)) onList.add(p);
    }
    return (head: Pfn) => (PageOffline(m, head) && (onList.has(head) || balloon_page_device(m, head) !== null) ? 0 : -1);
  },
};
