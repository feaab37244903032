/**
 * guest_memfd benchmarks. Each workload is timed against a "floor": the same memory work (reading
 * refcounts, writing attribute bytes, PTE slots, mapcounts) done by a bare typed-array loop.
 */
import 'reflect-metadata';
import { createMachine, lru_add_drain_all, type FreeDispatchStrategy, type Pfn } from '@mm/core';
import { report, result, skipped, timeNsPerOp, type BenchResult } from '../../core/bench/harness.js';
import {
  FALLOC_FL_KEEP_SIZE,
  GUEST_MEMFD_FLAG_INIT_SHARED,
  GUEST_MEMFD_FLAG_MMAP,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  guestMemfdPlugin,
  handle_mm_fault,
  kvm_create_vm,
  kvm_gmem_create,
  kvm_gmem_fallocate,
  kvm_gmem_mmap,
  kvm_gmem_set_attributes,
  pin_user_pages,
  unpin_user_pages,
  vm_munmap,
  type VmAreaStruct,
} from '../src/index.js';

const N = 8192; // pages per file (32 MiB)
const PAGE = 4096;
const results: BenchResult[] = [];

function setup(strategy: FreeDispatchStrategy, conversion: 'synchronous' | 'deferred') {
  const m = createMachine({ memory: '128M', strategy, plugins: [guestMemfdPlugin()] });
  const file = kvm_gmem_create(m, kvm_create_vm(m), N * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, { conversion });
  kvm_gmem_fallocate(m, file, FALLOC_FL_KEEP_SIZE, 0, N * PAGE);
  lru_add_drain_all(m);
  return { m, file };
}

// Floor arrays: refcounts, attributes, PTEs, mapcounts.
const rc = new Int32Array(N).fill(1);
const attr = new Uint8Array(N);
const ptes = new Int32Array(N).fill(-1);
const mc = new Int32Array(N).fill(-1);

for (const strategy of ['owner-ops', 'mainline'] as const) {
  const name = `gmem_convert_sync_${strategy}`;
  if (!skipped(name)) {
    const { m, file } = setup(strategy, 'synchronous');
    const all = { offset: 0, size: N * PAGE, attributes: 0, flags: 0 };
    const ns = timeNsPerOp(() => {
      all.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE;
      if (kvm_gmem_set_attributes(m, file, all) !== 0) throw new Error('conversion failed');
      all.attributes = 0;
      kvm_gmem_set_attributes(m, file, all);
    }, 2 * N, 9, 3);
    const floor = timeNsPerOp(() => {
      for (let i = 0; i < N; i++) if (rc[i]! + 1 === 2) attr[i] = 8;
      for (let i = 0; i < N; i++) attr[i] = 0;
    }, 2 * N, 9, 3);
    results.push(result(name, ns, floor, { pages: N }));
  }

  const fname = `gmem_fault_munmap_${strategy}`;
  if (!skipped(fname)) {
    const { m, file } = setup(strategy, 'synchronous');
    const ns = timeNsPerOp(() => {
      const vma = kvm_gmem_mmap(m, file, 0, N) as VmAreaStruct;
      for (let i = 0; i < N; i++) handle_mm_fault(m, vma, i);
      vm_munmap(m, vma);
    }, N, 9, 3);
    const floor = timeNsPerOp(() => {
      for (let i = 0; i < N; i++) {
        ptes[i] = i;
        mc[i]!++;
        rc[i]!++;
      }
      for (let i = 0; i < N; i++) {
        ptes[i] = -1;
        mc[i]!--;
        rc[i]!--;
      }
    }, N, 9, 3);
    results.push(result(fname, ns, floor, { pages: N }));
  }

  const dname = `gmem_deferred_pin_convert_unpin_${strategy}`;
  if (!skipped(dname)) {
    const { m, file } = setup(strategy, 'deferred');
    const vma = kvm_gmem_mmap(m, file, 0, N) as VmAreaStruct;
    const pages: Pfn[] = [];
    const all = { offset: 0, size: N * PAGE, attributes: 0, flags: 0 };
    const ns = timeNsPerOp(() => {
      pages.length = 0;
      pin_user_pages(m, vma, 0, N, 0, pages);
      all.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE;
      kvm_gmem_set_attributes(m, file, all); // every page becomes pending
      unpin_user_pages(m, pages); // every callback completes one conversion
      all.attributes = 0;
      kvm_gmem_set_attributes(m, file, all);
    }, N, 9, 3);
    const floor = timeNsPerOp(() => {
      for (let i = 0; i < N; i++) {
        ptes[i] = i;
        rc[i]! += 1025;
      }
      for (let i = 0; i < N; i++) {
        ptes[i] = -1;
        rc[i]! -= 2;
        attr[i] = 8;
      }
      for (let i = 0; i < N; i++) {
        rc[i]! -= 1023;
        attr[i] = 0;
      }
    }, N, 9, 3);
    results.push(result(dname, ns, floor, { pages: N }));
  }
}

report(results);
