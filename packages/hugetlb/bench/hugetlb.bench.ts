/**
 * `pnpm bench` for @mm/hugetlb, each workload beside a floor (the same memory work as a bare
 * typed-array loop, same process):
 * - `hugetlb_fault_free`: ns per write fault + free of a reserved 2 MiB page (a private mapping of
 *   256 reserved pages is faulted page by page, then unmapped; the mmap/munmap cost is spread over the
 *   256 pages). Floor: move a folio between two typed-array lists and back, with its refcount and
 *   mapcount words and the pool counters.
 * - `hugetlb_pool_resize`: ms to grow the 2 MiB pool of a 16 GiB machine to 4096 pages and shrink it
 *   back to 0 (`nr_hugepages` writes). Floor: prepare and tear down 4096 order-9 compound pages (511
 *   tail words each way) as typed-array fills.
 */
import 'reflect-metadata';
import { createMachine } from '@mm/core';
import {
  FAULT_FLAG_WRITE,
  do_munmap,
  hugetlb_fault,
  hugetlbfs_create,
  hugetlbfs_file_mmap,
  hugetlbfs_mount,
  hugetlbNewMm,
  hugetlbOf,
  hugetlbPlugin,
  hugetlbSysfsWrite,
  type HugetlbfsSbInfo,
  type VmAreaStruct,
} from '@mm/hugetlb';
import { report, result, skipped, timeNsPerOp, type BenchResult } from '../../core/bench/harness.js';

const results: BenchResult[] = [];
const MB2 = 2 << 20;

if (!skipped('hugetlb_fault_free')) {
  const pages = 256;
  const m = createMachine({ memory: '1G', plugins: [hugetlbPlugin({ cmdline: `hugepages=${pages}` })] });
  const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
  const file = hugetlbfs_create(m, sb, 'bench');
  const mm = hugetlbNewMm(m);
  const h = hugetlbOf(m).default_hstate;
  const ns = timeNsPerOp(() => {
    for (let round = 0; round < 8; round++) {
      const vma = hugetlbfs_file_mmap(m, mm, file, { length: pages * MB2, shared: false }) as VmAreaStruct;
      for (let i = 0; i < pages; i++) hugetlb_fault(m, vma, vma.vm_start + i * MB2, FAULT_FLAG_WRITE);
      do_munmap(m, vma);
    }
  }, 8 * pages);
  if (h.free_huge_pages !== pages || h.resv_huge_pages !== 0) throw new Error('hugetlb_fault_free: pool not restored');
  // Floor: per page, pop the head of a free list, push it on an active list (prev/next words), set
  // refcount and mapcount, update free/resv counters; then undo it all.
  const n = pages;
  const next = new Uint32Array(n * 512 + 8);
  const prev = new Uint32Array(n * 512 + 8);
  const ref = new Int32Array(n * 512 + 8);
  const mapc = new Uint32Array(n * 512 + 8);
  const counters = new Float64Array(4);
  const floor = timeNsPerOp(() => {
    for (let round = 0; round < 8; round++) {
      let freeHead = 0;
      for (let i = 0; i < n; i++) next[i * 512 + 2] = (i + 1) * 512;
      let active = -1;
      for (let i = 0; i < n; i++) {
        const f = freeHead;
        freeHead = next[f + 2]!;
        next[f + 2] = active;
        prev[f + 2] = 0;
        active = f;
        ref[f] = 1;
        mapc[f + 1] = 0;
        counters[0]!--;
        counters[1]!--;
      }
      for (let i = 0; i < n; i++) {
        const f = active;
        active = next[f + 2]!;
        mapc[f + 1] = 0xffffffff;
        ref[f] = 0;
        next[f + 2] = freeHead;
        freeHead = f;
        counters[0]!++;
        counters[1]!++;
      }
    }
  }, 8 * n);
  results.push(result('hugetlb_fault_free', ns, floor));
}

if (!skipped('hugetlb_pool_resize')) {
  const m = createMachine({ memory: '16G', plugins: [hugetlbPlugin()] });
  const pool = hugetlbOf(m);
  const path = 'sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages';
  const ns = timeNsPerOp(
    () => {
      hugetlbSysfsWrite(pool, path, '4096');
      if (pool.default_hstate.nr_huge_pages !== 4096) throw new Error('hugetlb_pool_resize: pool did not grow');
      hugetlbSysfsWrite(pool, path, '0');
    },
    1,
    5,
    1,
  );
  const lru = new Uint32Array(4096 * 512);
  const mapping = new Uint32Array(4096 * 512);
  const floor = timeNsPerOp(
    () => {
      for (let f = 0; f < 4096; f++) {
        const head = f * 512;
        lru.fill(((head + 1) * 4) | 1, head + 1, head + 512);
        mapping.fill(0x400, head + 1, head + 512);
      }
      for (let f = 0; f < 4096; f++) {
        const head = f * 512;
        lru.fill(0, head + 1, head + 512);
        mapping.fill(0, head + 1, head + 512);
      }
    },
    1,
    5,
    1,
  );
  results.push(result('hugetlb_pool_resize', ns / 1e6, floor / 1e6, { unit: 'ms' }));
}

report(results);
