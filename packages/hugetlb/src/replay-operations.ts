import { EINVAL, MmError, NUMA_NO_NODE, ReplayIds, defineReplayableOperation, replayOptions, type JsonValue, type Machine, type ReplayableOperation, type ReplayableOperations } from '@mm/core';
import { injectable } from 'tsyringe';
import { FAULT_FLAG_WRITE, hugetlb_fault } from './fs/fault.js';
import { hugetlbfs_create, hugetlbfs_fallocate, hugetlbfs_mount, hugetlbfs_punch_hole, hugetlbfs_umount, hugetlbfs_unlink, type HugetlbfsMountOptions } from './fs/hugetlbfs.js';
import { do_munmap, hugetlbNewMm, hugetlbfs_file_mmap } from './fs/mm.js';
import type { HugetlbfsInode, HugetlbfsSbInfo, MmStruct, VmAreaStruct } from './fs/types.js';
import type { Hstate } from './hstate.js';
import { hugetlb_alloc_folio } from './pool/alloc.js';
import { __nr_hugepages_store_common } from './pool/resize.js';
import { hugetlbOf } from './state.js';
import { hugetlbSysfsWrite } from './sysfs/procfs.js';

/**
 * hugetlb's replayable operations (the core's `ReplayableOperations`), so that a recorded scenario
 * can resize pools, mount hugetlbfs, map files, fault and unmap huge pages, and a trace replays it.
 * Mounts, files, processes and VMAs are named by ids handed out in creation order; hstates by order.
 *
 * @module
 */

const MOUNT_OPTIONS = ['pagesize', 'size', 'min_size'];

/** The hstate of order `order`; `MmError(EINVAL)` if the machine has none. */
function hstateOfOrder(m: Machine, order: number, fn: string): Hstate {
  const h = hugetlbOf(m).hstates.find((x) => x.order === order);
  if (h === undefined) throw new MmError(EINVAL, `${fn}: no hstate of order ${order}`, { rule: 'order names an hstate (9: 2 MiB, 18: 1 GiB)' });
  return h;
}

/**
 * Per machine: the hugetlbfs mounts, files, processes and VMAs the operations created, and the
 * operations:
 * - pools: `__nr_hugepages_store_common(order, nid, count)` (`nid` -1: every node; what writing
 *   `nr_hugepages` does) → 0; `hugetlbSysfsWrite(path, text)` (a `sys/kernel/mm/hugepages/…` or
 *   `proc/sys/vm/…` file, relative to the root) → bytes written or negative errno; `hugetlb_alloc_folio(order, nid?)` →
 *   folio or negative errno (VMA-less; free it with the core's `folio_put`);
 * - hugetlbfs: `hugetlbfs_mount(options?)` (`pagesize`, `size`, `min_size`) → mount id or negative
 *   errno; `hugetlbfs_create(mount, name)` → file id; `hugetlbNewMm()` → process id;
 *   `hugetlbfs_file_mmap(mm, file, length, shared, offset?, noreserve?)` → VMA id or negative errno;
 *   `hugetlb_fault(vma, offset, write)` → 0 or `VM_FAULT_*` (the model takes the byte offset into the
 *   VMA and whether the access writes, not an address and fault flags); `do_munmap(vma)` → 0 or
 *   negative errno; `hugetlbfs_fallocate(mm, file, mode, offset, len)` and
 *   `hugetlbfs_punch_hole(file, offset, len)` → 0 or negative errno; `hugetlbfs_unlink(file)`;
 *   `hugetlbfs_umount(mount)` → 0 or negative errno.
 */
@injectable()
export class HugetlbReplayOperations implements ReplayableOperations {
  /** hugetlbfs mounts, by id. */
  readonly mounts = new ReplayIds<HugetlbfsSbInfo>('hugetlbfs mount');
  /** hugetlbfs files, by id. */
  readonly files = new ReplayIds<HugetlbfsInode>('hugetlbfs file');
  /** Processes (`mm_struct`), by id. */
  readonly mms = new ReplayIds<MmStruct>('process');
  /** VMAs, by id. */
  readonly vmas = new ReplayIds<VmAreaStruct>('hugetlb VMA');
  /** The operations. */
  readonly operations: readonly ReplayableOperation[] = [
    defineReplayableOperation('__nr_hugepages_store_common', ['int', 'int', 'int'], (m: Machine, order: number, nid: number, count: number) => {
      const h = hstateOfOrder(m, order, '__nr_hugepages_store_common');
      if (!(nid === NUMA_NO_NODE || (nid >= 0 && nid < m.nodes.length)) || count < 0) {
        throw new MmError(EINVAL, `__nr_hugepages_store_common: node ${nid}, count ${count}`, { rule: 'nid is -1 or an online node; count ≥ 0' });
      }
      return __nr_hugepages_store_common(m, h, nid, count);
    }),
    defineReplayableOperation('hugetlbSysfsWrite', ['string', 'string'], (m: Machine, path: string, text: string) => hugetlbSysfsWrite(hugetlbOf(m), path, text)),
    defineReplayableOperation('hugetlb_alloc_folio', ['int', 'int?'], (m: Machine, order: number, nid?: number) =>
      hugetlb_alloc_folio(m, hstateOfOrder(m, order, 'hugetlb_alloc_folio'), nid === undefined ? {} : { nid }),
    ),
    defineReplayableOperation('hugetlbfs_mount', ['json?'], (m: Machine, options?: JsonValue) => {
      const sb = hugetlbfs_mount(m, replayOptions<HugetlbfsMountOptions>('hugetlbfs_mount', options, MOUNT_OPTIONS));
      return typeof sb === 'number' ? sb : this.mounts.add(sb);
    }),
    defineReplayableOperation('hugetlbfs_create', ['int', 'string'], (m: Machine, mount: number, name: string) =>
      this.files.add(hugetlbfs_create(m, this.mounts.get(mount, 'hugetlbfs_create'), name)),
    ),
    defineReplayableOperation('hugetlbNewMm', [], (m: Machine) => this.mms.add(hugetlbNewMm(m))),
    defineReplayableOperation(
      'hugetlbfs_file_mmap',
      ['int', 'int', 'int', 'boolean', 'int?', 'boolean?'],
      (m: Machine, mm: number, file: number, length: number, shared: boolean, offset?: number, noreserve?: boolean) => {
        const vma = hugetlbfs_file_mmap(m, this.mms.get(mm, 'hugetlbfs_file_mmap'), this.files.get(file, 'hugetlbfs_file_mmap'), {
          length,
          shared,
          ...(offset === undefined ? {} : { offset }),
          ...(noreserve === undefined ? {} : { noreserve }),
        });
        return typeof vma === 'number' ? vma : this.vmas.add(vma);
      },
    ),
    defineReplayableOperation('hugetlb_fault', ['int', 'int', 'boolean'], (m: Machine, id: number, offset: number, write: boolean) => {
      const vma = this.vmas.get(id, 'hugetlb_fault');
      return hugetlb_fault(m, vma, vma.vm_start + offset, write ? FAULT_FLAG_WRITE : 0);
    }),
    defineReplayableOperation('do_munmap', ['int'], (m: Machine, id: number) => {
      const ret = do_munmap(m, this.vmas.get(id, 'do_munmap'));
      if (ret === 0) this.vmas.remove(id);
      return ret;
    }),
    defineReplayableOperation('hugetlbfs_fallocate', ['int', 'int', 'int', 'int', 'int'], (m: Machine, mm: number, file: number, mode: number, offset: number, len: number) =>
      hugetlbfs_fallocate(m, this.mms.get(mm, 'hugetlbfs_fallocate'), this.files.get(file, 'hugetlbfs_fallocate'), mode, offset, len),
    ),
    defineReplayableOperation('hugetlbfs_punch_hole', ['int', 'int', 'int'], (m: Machine, file: number, offset: number, len: number) =>
      hugetlbfs_punch_hole(m, this.files.get(file, 'hugetlbfs_punch_hole'), offset, len),
    ),
    defineReplayableOperation('hugetlbfs_unlink', ['int'], (m: Machine, file: number) => hugetlbfs_unlink(m, this.files.get(file, 'hugetlbfs_unlink'))),
    defineReplayableOperation('hugetlbfs_umount', ['int'], (m: Machine, mount: number) => {
      const ret = hugetlbfs_umount(m, this.mounts.get(mount, 'hugetlbfs_umount'));
      if (ret === 0) this.mounts.remove(mount);
      return ret;
    }),
  ];
}
