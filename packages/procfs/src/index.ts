/**
 * `@mm/procfs`: snapshots of a simulated machine written as a real host lays out `/proc` and `/sys`,
 * byte for byte in the kernel's formats (v6.18, x86-64), so that stock tools — Prometheus
 * node_exporter, psutil, numastat, hugeadm, procps — read the model's state as they read a host's.
 *
 * The numbers are the model's own: zones' free lists and counters, node counters, event counters,
 * watermarks and per-CPU lists, and the memmap (for `/proc/kpageflags` and `/proc/kpagecount`). Owner
 * packages add meminfo values and whole files through the core's `ProcfsContributor` DI token; this
 * package owns the order and formatting of every line.
 *
 * @packageDocumentation
 */

export { procfsContributions, type ProcfsContributions } from './contributions.js';
export {
  MEMINFO_FIELDS,
  NODE_MEMINFO_FIELDS,
  CONTRIBUTABLE_MEMINFO_KEYS,
  DEFAULT_HUGEPAGESIZE_KB,
  VMALLOC_TOTAL_KB,
  type MeminfoField,
  type MeminfoFormat,
} from './proc/meminfo-fields.js';
export { meminfo_proc_show, meminfoValues } from './proc/meminfo.js';
export { pagetypeinfo_show } from './proc/pagetypeinfo.js';
export { vmstat_show, vmstatValues, ZONE_STAT_TEXT, NUMA_STAT_TEXT, NODE_STAT_TEXT, VM_STAT_TEXT, VM_EVENT_TEXT } from './proc/vmstat.js';
export { zoneinfo_show } from './proc/zoneinfo.js';
export {
  stable_page_flags,
  kpageflags_read,
  kpagecount_read,
  kpageflagsAndCount,
  get_max_dump_pfn,
  is_free_buddy_page,
} from './proc/kpageflags.js';
export {
  KPF_LOCKED,
  KPF_ERROR,
  KPF_REFERENCED,
  KPF_UPTODATE,
  KPF_DIRTY,
  KPF_LRU,
  KPF_ACTIVE,
  KPF_SLAB,
  KPF_WRITEBACK,
  KPF_RECLAIM,
  KPF_BUDDY,
  KPF_MMAP,
  KPF_ANON,
  KPF_SWAPCACHE,
  KPF_SWAPBACKED,
  KPF_COMPOUND_HEAD,
  KPF_COMPOUND_TAIL,
  KPF_HUGE,
  KPF_UNEVICTABLE,
  KPF_HWPOISON,
  KPF_NOPAGE,
  KPF_KSM,
  KPF_THP,
  KPF_OFFLINE,
  KPF_ZERO_PAGE,
  KPF_IDLE,
  KPF_PGTABLE,
  KPF_RESERVED,
  KPF_MLOCKED,
  KPF_OWNER_2,
  KPF_PRIVATE,
  KPF_PRIVATE_2,
  KPF_OWNER_PRIVATE,
  KPF_ARCH,
  KPF_SOFTDIRTY,
  KPF_ARCH_2,
  KPF_ARCH_3,
  KPF_BITS,
} from './proc/kpf.js';
export { node_read_meminfo, node_read_numastat, nodeMeminfoValues } from './sys/node.js';
export { snapshotFiles, type SnapshotFiles } from './snapshot/snapshot-files.js';
export { writeSnapshot, type SnapshotSummary } from './snapshot/write-snapshot.js';
