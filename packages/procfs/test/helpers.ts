import { ProcfsContributor, type MmPlugin } from '@mm/core';

/** A plugin registering one ProcfsContributor given as plain data. */
export function contributor(c: ProcfsContributor): MmPlugin {
  return { meta: { name: c.name, version: '0' }, register: (ct) => ct.register(ProcfsContributor, { useValue: c }) };
}

/**
 * A stand-in for a hugetlb owner on a 2-node machine (the real @mm/hugetlb has no plugin yet): 6
 * default-size (2 MiB) pages, 4 free, 1 reserved, 3 per node (2 free each), overcommit 2, and an empty
 * 1 GiB pool.
 */
export const hugetlbLike: MmPlugin = contributor({
  name: 'hugetlb-like',
  meminfo: (_m, nid): Record<string, number> =>
    nid === null
      ? { HugePages_Total: 6, HugePages_Free: 4, HugePages_Rsvd: 1, HugePages_Surp: 0, Hugepagesize: 2048, Hugetlb: 6 * 2048 }
      : { HugePages_Total: 3, HugePages_Free: 2, HugePages_Surp: 0 },
  files: () => {
    const d = 'sys/kernel/mm/hugepages/hugepages-2048kB';
    const g = 'sys/kernel/mm/hugepages/hugepages-1048576kB';
    const out: Record<string, string> = {
      [`${d}/nr_hugepages`]: '6\n',
      [`${d}/nr_hugepages_mempolicy`]: '6\n',
      [`${d}/free_hugepages`]: '4\n',
      [`${d}/resv_hugepages`]: '1\n',
      [`${d}/surplus_hugepages`]: '0\n',
      [`${d}/nr_overcommit_hugepages`]: '2\n',
    };
    for (const f of ['nr_hugepages', 'nr_hugepages_mempolicy', 'free_hugepages', 'resv_hugepages', 'surplus_hugepages', 'nr_overcommit_hugepages']) out[`${g}/${f}`] = '0\n';
    for (const nid of [0, 1]) {
      const n = `sys/devices/system/node/node${nid}/hugepages/hugepages-2048kB`;
      Object.assign(out, { [`${n}/nr_hugepages`]: '3\n', [`${n}/free_hugepages`]: '2\n', [`${n}/surplus_hugepages`]: '0\n' });
    }
    return out;
  },
});
