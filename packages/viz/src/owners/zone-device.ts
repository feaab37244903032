import { is_zone_device_page, type Machine, type Pfn } from '@mm/core';
import { MEMORY_DEVICE_PCI_P2PDMA, MEMORY_DEVICE_PRIVATE, page_pgmap } from '@mm/zone-device';
import type { PageOwnerDescriber } from '../page-owner-describer.js';

const COLORS = ['#4a2a8a', '#7a52c8', '#a080e0', '#6a8ab8', '#3a5a70'];
const NAMES = ['MEMORY_DEVICE_PRIVATE', 'MEMORY_DEVICE_COHERENT', 'MEMORY_DEVICE_FS_DAX', 'MEMORY_DEVICE_GENERIC', 'MEMORY_DEVICE_PCI_P2PDMA'];

/** ZONE_DEVICE pages, by the `memory_type` of their `dev_pagemap` (`page_pgmap(page)->type`). */
export const zoneDeviceDescriber: PageOwnerDescriber = {
  owner: 'zone-device',
  kinds: NAMES.map((n, i) => ({ name: `ZONE_DEVICE ${n}`, color: COLORS[i]!, owner: 'zone-device' })),
  classifier(m: Machine) {
    return (head: Pfn) => {
      if (!is_zone_device_page(m, head)) return -1;
      const type = page_pgmap(m, head).type;
      return type >= MEMORY_DEVICE_PRIVATE && type <= MEMORY_DEVICE_PCI_P2PDMA ? type - MEMORY_DEVICE_PRIVATE : -1;
    };
  },
};
