import { MEMINFO_FIELDS, DEFAULT_HUGEPAGESIZE_KB, VMALLOC_TOTAL_KB, meminfoLine } from './meminfo-fields.js';
import { procfsContributions, type ProcfsContributions } from '../contributions.js';
import {
  allZones,
  globalNodeStat,
  globalZoneStat,
  sumLowWatermarks,
  totalram_pages,
  totalreserve_pages,
  zone_cma_pages,
} from '../internal/stats.js';
import { PG, type Machine } from '@mm/core';

/**
 * `/proc/meminfo` (`fs/proc/meminfo.c`), with the hugetlb lines of `hugetlb_report_meminfo`
 * (`mm/hugetlb.c`) and x86's `arch_report_meminfo` (DirectMap*).
 *
 * Derived from the core: MemTotal (`totalram_pages`: managed pages), MemFree (NR_FREE_PAGES; pages on
 * per-CPU lists are not free here, as in the kernel), MemAvailable (`si_mem_available`), Cached,
 * SwapCached, the LRU lines, Mlocked, AnonPages, Mapped, Shmem, CommitLimit (`vm_commit_limit` with
 * the default overcommit ratio 50 and no swap), HardwareCorrupted (pages with PG_hwpoison), CmaTotal
 * (pages in MIGRATE_CMA pageblocks), CmaFree.
 *
 * Printed with the model's value 0 unless an owner contributes them (the model does not track them):
 * Buffers, SwapTotal, SwapFree, Zswap, Zswapped, Dirty, Writeback, KReclaimable, Slab, SReclaimable,
 * SUnreclaim, KernelStack, PageTables, SecPageTables, Committed_AS, VmallocUsed, Percpu, AnonHugePages,
 * ShmemHugePages, ShmemPmdMapped, FileHugePages, FilePmdMapped, Balloon (`@mm/balloon` contributes
 * it), HugePages_* and Hugetlb (0 without a hugetlb contributor), DirectMap4k/2M/1G. Always 0 in
 * v6.18: NFS_Unstable, Bounce, WritebackTmp, VmallocChunk. Constant: VmallocTotal. Hugepagesize
 * defaults to 2048.
 *
 * @module
 */

const K = (pages: number): number => pages * 4;

/** Pages with PG_hwpoison (`num_poisoned_pages`; the model has no memory_failure(), so PG_hwpoison is the record). */
function countHwpoison(flags: Uint32Array): number {
  const poison = 1 << PG.hwpoison;
  let n = 0;
  for (let pfn = 0; pfn < flags.length; pfn++) if ((flags[pfn]! & poison) !== 0) n++;
  return n;
}

/**
 * The values (kB) of the derived `/proc/meminfo` keys, given the contributed Hugetlb and Buffers kB.
 * `Cached` is NR_FILE_PAGES less swap cache and buffers, at least 0.
 */
function derivedMeminfo(m: Machine, hugetlbKb: number, buffersKb: number): Map<string, number> {
  const free = globalZoneStat(m, 'nr_free_pages');
  const node = (n: string): number => globalNodeStat(m, n);
  const activeAnon = node('nr_active_anon');
  const inactiveAnon = node('nr_inactive_anon');
  const activeFile = node('nr_active_file');
  const inactiveFile = node('nr_inactive_file');
  const totalram = totalram_pages(m);
  const swapcache = node('nr_swapcached');
  // si_mem_available(): free pages less the reserves, plus the part of page cache and reclaimable
  // kernel memory that reclaim could give back (each capped at the sum of low watermarks).
  const wmarkLow = sumLowWatermarks(m);
  let available = free - totalreserve_pages(m);
  let pagecache = activeFile + inactiveFile;
  pagecache -= Math.min(Math.floor(pagecache / 2), wmarkLow);
  available += pagecache;
  let reclaimable = node('nr_slab_reclaimable') + node('nr_kernel_misc_reclaimable');
  reclaimable -= Math.min(Math.floor(reclaimable / 2), wmarkLow);
  available = Math.max(0, available + reclaimable);
  const hwpoison = countHwpoison(m.memmap.flags);
  let cma = 0;
  for (const z of allZones(m)) cma += zone_cma_pages(m, z);
  // vm_commit_limit(): (totalram − hugetlb pages) · overcommit_ratio / 100 + swap pages (never below 0
  // here; the kernel's unsigned arithmetic would wrap for a pool larger than RAM).
  const commitLimit = Math.floor((Math.max(0, totalram - Math.floor(hugetlbKb / 4)) * 50) / 100);
  return new Map<string, number>([
    ['MemTotal', K(totalram)],
    ['MemFree', K(free)],
    ['MemAvailable', K(available)],
    ['Cached', K(Math.max(0, node('nr_file_pages') - swapcache - Math.floor(buffersKb / 4)))],
    ['SwapCached', K(swapcache)],
    ['Active', K(activeAnon + activeFile)],
    ['Inactive', K(inactiveAnon + inactiveFile)],
    ['Active(anon)', K(activeAnon)],
    ['Inactive(anon)', K(inactiveAnon)],
    ['Active(file)', K(activeFile)],
    ['Inactive(file)', K(inactiveFile)],
    ['Unevictable', K(node('nr_unevictable'))],
    ['Mlocked', K(globalZoneStat(m, 'nr_mlock'))],
    ['AnonPages', K(node('nr_anon_pages'))],
    ['Mapped', K(node('nr_mapped'))],
    ['Shmem', K(node('nr_shmem'))],
    ['NFS_Unstable', 0],
    ['Bounce', 0],
    ['WritebackTmp', 0],
    ['CommitLimit', K(commitLimit)],
    ['VmallocTotal', VMALLOC_TOTAL_KB],
    ['VmallocChunk', 0],
    ['HardwareCorrupted', K(hwpoison)],
    ['CmaTotal', K(cma)],
    ['CmaFree', K(globalZoneStat(m, 'nr_free_cma'))],
  ]);
}

/**
 * The value of every `/proc/meminfo` key, in the kernel's order: derived from the core, contributed
 * by an owner, or the model's default.
 */
export function meminfoValues(m: Machine, c: ProcfsContributions = procfsContributions(m)): Map<string, number> {
  const derived = derivedMeminfo(m, c.meminfo.get('Hugetlb') ?? 0, c.meminfo.get('Buffers') ?? 0);
  const out = new Map<string, number>();
  for (const fld of MEMINFO_FIELDS) {
    const v = fld.derived ? derived.get(fld.key) : c.meminfo.get(fld.key);
    out.set(fld.key, v ?? (fld.key === 'Hugepagesize' ? DEFAULT_HUGEPAGESIZE_KB : 0));
  }
  return out;
}

/**
 * `meminfo_proc_show()` (`fs/proc/meminfo.c`): the text of `/proc/meminfo` — `Key:` padded to 16
 * columns, the value right-aligned in 8 and ` kB`; the four HugePages_* counts without a unit; no blank
 * line (about 1.6 KiB, within the one 2048-byte read hugeadm makes).
 */
export function meminfo_proc_show(m: Machine, c: ProcfsContributions = procfsContributions(m)): string {
  return formatMeminfo(meminfoValues(m, c));
}

/** The `/proc/meminfo` text for values computed by {@link meminfoValues}. */
export function formatMeminfo(values: ReadonlyMap<string, number>): string {
  let out = '';
  for (const fld of MEMINFO_FIELDS) out += meminfoLine(fld, values.get(fld.key)!, false);
  return out;
}
