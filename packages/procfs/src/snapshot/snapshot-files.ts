import { EEXIST, EINVAL, frag_show, LOWMEM_RESERVE_RATIO, MmError, WATERMARK_SCALE_FACTOR, type Machine } from '@mm/core';
import { procfsContributions, type ProcfsContributions } from '../contributions.js';
import { kpageflagsAndCount } from '../proc/kpageflags.js';
import { formatMeminfo, meminfoValues } from '../proc/meminfo.js';
import { pagetypeinfo_show } from '../proc/pagetypeinfo.js';
import { vmstat_show } from '../proc/vmstat.js';
import { zoneinfo_show } from '../proc/zoneinfo.js';
import { nodeMeminfoValues, node_read_meminfo, node_read_numastat } from '../sys/node.js';

/**
 * The files of a snapshot, by path relative to its root, as a real host lays them out under `/proc`
 * and `/sys`.
 *
 * Besides the kernel-generated files (meminfo, buddyinfo, pagetypeinfo, vmstat, zoneinfo, kpageflags,
 * kpagecount, per-node meminfo and numastat) a snapshot holds these sysctls, from the model's state:
 * `vm.min_free_kbytes`, `vm.watermark_scale_factor`, `vm.lowmem_reserve_ratio`, and `vm.nr_hugepages`,
 * `vm.nr_hugepages_mempolicy`, `vm.nr_overcommit_hugepages` copied from the default huge page size's
 * sysfs directory. When no owner contributes any `sys/kernel/mm/hugepages/` file, the snapshot
 * synthesises the default size's directory (and each node's) from the HugePages_* meminfo values, so
 * that sysfs and meminfo agree, as on a kernel with hugetlb support and no pools.
 *
 * @module
 */

/** A snapshot: file contents by path relative to the snapshot root (`proc/meminfo`, …). */
export type SnapshotFiles = Map<string, string | Uint8Array>;

const HUGEPAGES = 'sys/kernel/mm/hugepages';
/**
 * Sysctls that read the default huge page size's counters, and the sysfs file of that size holding the
 * same number (`hugetlb_sysctl_handler`, `hugetlb_overcommit_handler`). A contributor may give them too,
 * if they agree.
 */
const HUGEPAGE_SYSCTLS: Readonly<Record<string, string>> = {
  'proc/sys/vm/nr_hugepages': 'nr_hugepages',
  'proc/sys/vm/nr_hugepages_mempolicy': 'nr_hugepages',
  'proc/sys/vm/nr_overcommit_hugepages': 'nr_overcommit_hugepages',
};
const NODE_DIR = 'sys/devices/system/node';

function hugepageFiles(m: Machine, c: ProcfsContributions, meminfo: Map<string, number>, out: SnapshotFiles): void {
  const size = meminfo.get('Hugepagesize')!;
  const contributed = [...c.files.keys()];
  if (!contributed.some((p) => p.startsWith(`${HUGEPAGES}/`))) {
    const dir = `${HUGEPAGES}/hugepages-${size}kB`;
    const total = meminfo.get('HugePages_Total')!;
    out.set(`${dir}/free_hugepages`, `${meminfo.get('HugePages_Free')}\n`);
    out.set(`${dir}/nr_hugepages`, `${total}\n`);
    out.set(`${dir}/nr_hugepages_mempolicy`, `${total}\n`);
    out.set(`${dir}/nr_overcommit_hugepages`, '0\n');
    out.set(`${dir}/resv_hugepages`, `${meminfo.get('HugePages_Rsvd')}\n`);
    out.set(`${dir}/surplus_hugepages`, `${meminfo.get('HugePages_Surp')}\n`);
  }
  for (let nid = 0; nid < m.nodes.length; nid++) {
    const nodeHuge = `${NODE_DIR}/node${nid}/hugepages`;
    if (contributed.some((p) => p.startsWith(`${nodeHuge}/`))) continue;
    const v = nodeMeminfoValues(m, nid, c);
    const dir = `${nodeHuge}/hugepages-${size}kB`;
    out.set(`${dir}/free_hugepages`, `${v.get('HugePages_Free')}\n`);
    out.set(`${dir}/nr_hugepages`, `${v.get('HugePages_Total')}\n`);
    out.set(`${dir}/surplus_hugepages`, `${v.get('HugePages_Surp')}\n`);
  }
}

function sysctlFiles(m: Machine, c: ProcfsContributions, meminfo: Map<string, number>, hugepages: SnapshotFiles, out: SnapshotFiles): void {
  out.set('proc/sys/vm/min_free_kbytes', `${m.minFreeKbytes}\n`);
  out.set('proc/sys/vm/watermark_scale_factor', `${WATERMARK_SCALE_FACTOR}\n`);
  out.set('proc/sys/vm/lowmem_reserve_ratio', `${LOWMEM_RESERVE_RATIO.join('\t')}\n`);
  const dir = `${HUGEPAGES}/hugepages-${meminfo.get('Hugepagesize')}kB`;
  const fallback: Readonly<Record<string, string>> = { nr_hugepages: `${meminfo.get('HugePages_Total')}\n`, nr_overcommit_hugepages: '0\n' };
  for (const [path, file] of Object.entries(HUGEPAGE_SYSCTLS)) {
    const text = c.files.get(`${dir}/${file}`)?.text ?? (hugepages.get(`${dir}/${file}`) as string | undefined) ?? fallback[file]!;
    const given = c.files.get(path);
    if (given && given.text !== text) {
      throw new MmError(EINVAL, `procfs: ${given.from} gives ${path} = ${JSON.stringify(given.text)} but ${dir} says ${JSON.stringify(text)}`, {
        rule: 'the vm.nr_hugepages sysctls equal the default huge page size sysfs files',
      });
    }
    out.set(path, text);
  }
}

/**
 * Every file of a snapshot of `m`, computed in memory, in a stable order: what {@link writeSnapshot}
 * writes. Text files are strings; `proc/kpageflags` and `proc/kpagecount` are little-endian u64 arrays.
 * Contributed files come last. Throws before producing anything: `MmError(EINVAL)` for a bad
 * contribution (see `procfsContributions`) or `vm.nr_hugepages` sysctls that disagree with sysfs,
 * `MmError(EEXIST)` for a contributed path that `@mm/procfs` generates itself.
 */
export function snapshotFiles(m: Machine): SnapshotFiles {
  const c = procfsContributions(m);
  const meminfo = meminfoValues(m, c);
  const out: SnapshotFiles = new Map();
  out.set('proc/meminfo', formatMeminfo(meminfo));
  out.set('proc/buddyinfo', frag_show(m));
  out.set('proc/pagetypeinfo', pagetypeinfo_show(m));
  out.set('proc/vmstat', vmstat_show(m));
  out.set('proc/zoneinfo', zoneinfo_show(m));
  const { kpageflags, kpagecount } = kpageflagsAndCount(m);
  out.set('proc/kpageflags', kpageflags);
  out.set('proc/kpagecount', kpagecount);
  const huge: SnapshotFiles = new Map();
  hugepageFiles(m, c, meminfo, huge);
  sysctlFiles(m, c, meminfo, huge, out);
  for (const [p, t] of huge) out.set(p, t);
  for (let nid = 0; nid < m.nodes.length; nid++) {
    out.set(`${NODE_DIR}/node${nid}/meminfo`, node_read_meminfo(m, nid, c));
    out.set(`${NODE_DIR}/node${nid}/numastat`, node_read_numastat(m, nid));
  }
  for (const [path, { text, from }] of c.files) {
    if (out.has(path) && !(path in HUGEPAGE_SYSCTLS)) {
      throw new MmError(EEXIST, `procfs: ${from} contributed ${path}, which @mm/procfs generates`, { rule: 'contributors add files; they do not replace generated ones' });
    }
    out.set(path, text);
  }
  return out;
}
