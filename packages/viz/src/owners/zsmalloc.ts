import { PGTY, pageTypeIs, type Machine, type Pfn } from '@mm/core';
import type { PageOwnerDescriber } from '../page-owner-describer.js';

/** zsmalloc pages: PageZsmalloc (sticky until the page is freed, series 2). */
export const zsmallocDescriber: PageOwnerDescriber = {
  owner: 'zsmalloc',
  kinds: [{ name: 'zsmalloc (zspage)', color: '#8a5a20', owner: 'zsmalloc' }],
  classifier(m: Machine) {
    return (head: Pfn) => (pageTypeIs(m, head, PGTY.zsmalloc) ? 0 : -1);
  },
};
