import type { Machine, Pfn } from '@mm/core';
import { GMEM_PRIVATE, GuestMemfd, type GmemFile } from '@mm/guest-memfd';
import type { PageOwnerDescriber } from '../page-owner-describer.js';

/**
 * guest_memfd folios: in a file's page cache (`folio->mapping` is the file's address_space), shared
 * or private by the file's attribute at `folio->index`; or waiting for a deferred shared→private
 * conversion (out of the page cache, completed by the refcount-0 callback).
 */
export const guestMemfdDescriber: PageOwnerDescriber = {
  owner: 'guest-memfd',
  kinds: [
    { name: 'guest_memfd shared', color: '#20a0a0', owner: 'guest-memfd' },
    { name: 'guest_memfd private', color: '#105050', owner: 'guest-memfd' },
    { name: 'guest_memfd conversion pending', color: '#e0e040', owner: 'guest-memfd' },
  ],
  classifier(m: Machine) {
    const gmem = GuestMemfd.of(m);
    const byMapping = new Map<number, GmemFile>();
    for (const f of gmem.files) byMapping.set(f.mapping.ptr, f);
    const { mapping, index } = m.memmap;
    return (head: Pfn) => {
      if (gmem.pending.has(head)) return 2;
      const file = byMapping.get(mapping[head]!);
      if (file === undefined) return -1;
      return file.attributes[index[head]!] === GMEM_PRIVATE ? 1 : 0;
    };
  },
};
