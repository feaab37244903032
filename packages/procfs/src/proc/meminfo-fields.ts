/**
 * The keys of `/proc/meminfo` (`fs/proc/meminfo.c` `meminfo_proc_show`, then
 * `hugetlb_report_meminfo` in `mm/hugetlb.c`, then x86's `arch_report_meminfo`) and of
 * `/sys/devices/system/node/node<N>/meminfo` (`drivers/base/node.c` `node_read_meminfo`, then
 * `hugetlb_report_node_meminfo`), in the kernel's order, for v6.18 on x86-64 built with CONFIG_NUMA,
 * CONFIG_TRANSPARENT_HUGEPAGE, CONFIG_ZSWAP, CONFIG_CMA, CONFIG_MEMORY_FAILURE and CONFIG_HUGETLB_PAGE,
 * without CONFIG_HIGHMEM, CONFIG_UNACCEPTED_MEMORY or CONFIG_SHADOW_CALL_STACK, with 1 GiB direct-map
 * pages.
 *
 * `derived` keys are computed by `@mm/procfs` from the core's state; every other key is printed with
 * the value an owner package contributes through `ProcfsContributor`, or with the model's value 0
 * (2048 for `Hugepagesize`, the x86-64 constant for `VmallocTotal`).
 *
 * @module
 */

/**
 * How a line is printed: `kB` as `Key:` padded to 16 columns, the value right-aligned in 8, ` kB`;
 * `hugecount` as the `HugePages_*` counts (label padded to 19, value in 5, no unit); `corrupted` as
 * `HardwareCorrupted: %5lu kB`.
 */
export type MeminfoFormat = 'kB' | 'hugecount' | 'corrupted';

/** One meminfo line: its key, how it is printed, and whether `@mm/procfs` derives it from the core. */
export interface MeminfoField {
  /** The key before the colon. */
  readonly key: string;
  /** Print format. */
  readonly fmt: MeminfoFormat;
  /** True if computed from the core's state (contributors may not set it). */
  readonly derived: boolean;
}

const f = (key: string, derived = false, fmt: MeminfoFormat = 'kB'): MeminfoField => ({ key, fmt, derived });

/** `/proc/meminfo` lines in order. */
export const MEMINFO_FIELDS: readonly MeminfoField[] = [
  f('MemTotal', true),
  f('MemFree', true),
  f('MemAvailable', true),
  f('Buffers'),
  f('Cached', true),
  f('SwapCached', true),
  f('Active', true),
  f('Inactive', true),
  f('Active(anon)', true),
  f('Inactive(anon)', true),
  f('Active(file)', true),
  f('Inactive(file)', true),
  f('Unevictable', true),
  f('Mlocked', true),
  f('SwapTotal'),
  f('SwapFree'),
  f('Zswap'),
  f('Zswapped'),
  f('Dirty'),
  f('Writeback'),
  f('AnonPages', true),
  f('Mapped', true),
  f('Shmem', true),
  f('KReclaimable'),
  f('Slab'),
  f('SReclaimable'),
  f('SUnreclaim'),
  f('KernelStack'),
  f('PageTables'),
  f('SecPageTables'),
  f('NFS_Unstable', true),
  f('Bounce', true),
  f('WritebackTmp', true),
  f('CommitLimit', true),
  f('Committed_AS'),
  f('VmallocTotal', true),
  f('VmallocUsed'),
  f('VmallocChunk', true),
  f('Percpu'),
  f('HardwareCorrupted', true, 'corrupted'),
  f('AnonHugePages'),
  f('ShmemHugePages'),
  f('ShmemPmdMapped'),
  f('FileHugePages'),
  f('FilePmdMapped'),
  f('CmaTotal', true),
  f('CmaFree', true),
  f('Balloon'),
  f('HugePages_Total', false, 'hugecount'),
  f('HugePages_Free', false, 'hugecount'),
  f('HugePages_Rsvd', false, 'hugecount'),
  f('HugePages_Surp', false, 'hugecount'),
  f('Hugepagesize'),
  f('Hugetlb'),
  f('DirectMap4k'),
  f('DirectMap2M'),
  f('DirectMap1G'),
];

/** `/sys/devices/system/node/node<N>/meminfo` lines in order (each prefixed `Node <N> `). */
export const NODE_MEMINFO_FIELDS: readonly MeminfoField[] = [
  f('MemTotal', true),
  f('MemFree', true),
  f('MemUsed', true),
  f('SwapCached', true),
  f('Active', true),
  f('Inactive', true),
  f('Active(anon)', true),
  f('Inactive(anon)', true),
  f('Active(file)', true),
  f('Inactive(file)', true),
  f('Unevictable', true),
  f('Mlocked', true),
  f('Dirty'),
  f('Writeback'),
  f('FilePages', true),
  f('Mapped', true),
  f('AnonPages', true),
  f('Shmem', true),
  f('KernelStack'),
  f('PageTables'),
  f('SecPageTables'),
  f('NFS_Unstable', true),
  f('Bounce', true),
  f('WritebackTmp', true),
  f('KReclaimable'),
  f('Slab'),
  f('SReclaimable'),
  f('SUnreclaim'),
  f('AnonHugePages'),
  f('ShmemHugePages'),
  f('ShmemPmdMapped'),
  f('FileHugePages'),
  f('FilePmdMapped'),
  f('HugePages_Total', false, 'hugecount'),
  f('HugePages_Free', false, 'hugecount'),
  f('HugePages_Surp', false, 'hugecount'),
];

const contributable = (fields: readonly MeminfoField[]): string[] => fields.filter((x) => !x.derived).map((x) => x.key);

/**
 * The keys contributors may set: every key above that `@mm/procfs` does not derive. For a node, a key
 * that only `/proc/meminfo` prints is accepted too (e.g. `Balloon`, which v6.18's node files do not
 * print) and left out of the node's file.
 */
export const CONTRIBUTABLE_MEMINFO_KEYS = {
  /** Keys a contributor may set for `/proc/meminfo`. */
  global: new Set(contributable(MEMINFO_FIELDS)),
  /** Keys a contributor may set for a node's `meminfo` (node keys plus the `/proc/meminfo` ones). */
  node: new Set([...contributable(NODE_MEMINFO_FIELDS), ...contributable(MEMINFO_FIELDS)]),
} as const;

/** The default huge page size in kB when no contributor reports one (x86-64 `HPAGE_SIZE`, 2 MiB). */
export const DEFAULT_HUGEPAGESIZE_KB = 2048;

/** `VMALLOC_TOTAL >> 10` on x86-64 with 4-level page tables (32 TiB − 1 KiB, as printed). */
export const VMALLOC_TOTAL_KB = 34359738367;

/** Format one meminfo line (without the `Node <N> ` prefix). `node` selects the per-node label widths. */
export function meminfoLine(field: MeminfoField, value: number, node: boolean): string {
  const label = `${field.key}:`;
  switch (field.fmt) {
    case 'hugecount':
      return `${label.padEnd(node ? 17 : 19)}${String(value).padStart(5)}\n`;
    case 'corrupted':
      return `${label} ${String(value).padStart(5)} kB\n`;
    default:
      return `${label.padEnd(16)}${String(value).padStart(8)} kB\n`;
  }
}
