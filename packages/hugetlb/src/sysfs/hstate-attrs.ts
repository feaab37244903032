import { EINVAL, NUMA_NO_NODE, PAGE_SIZE, type Machine } from '@mm/core';
import { HUGETLB_PAGE_ORDER, hstate_is_gigantic, size_to_hstate, type Hstate } from '../hstate.js';
import { demote_pool_huge_page } from '../pool/demote.js';
import { node_states_memory, nodemask_of_node } from '../pool/nodes.js';
import { __nr_hugepages_store_common } from '../pool/resize.js';
import { kstrtoul, memparseKernel } from './parse.js';

/**
 * The hstate sysfs attributes (`mm/hugetlb.c`, `mm/hugetlb_sysfs.c` in newer trees) of
 * `/sys/kernel/mm/hugepages/hugepages-<kB>kB/` (`nid = NUMA_NO_NODE`) and
 * `/sys/devices/system/node/node<N>/hugepages/hugepages-<kB>kB/`. `*_show` returns the file text;
 * `*_store` returns the bytes consumed or a negative errno, validating as the kernel does before
 * changing anything.
 *
 * @module
 */

/** `nr_hugepages_show`: `nr_huge_pages` (global or of the node). */
export function nr_hugepages_show(h: Hstate, nid: number): string {
  return `${nid === NUMA_NO_NODE ? h.nr_huge_pages : h.nr_huge_pages_node[nid]}\n`;
}

/**
 * `nr_hugepages_store` / `nr_hugepages_mempolicy_store`: `kstrtoul` (`-EINVAL` for `"-1"`, `"abc"`, `""`;
 * `-ERANGE` above ULONG_MAX) then `set_max_huge_pages` on all nodes or the one node.
 */
export function nr_hugepages_store(m: Machine, h: Hstate, nid: number, buf: string): number {
  const count = kstrtoul(buf);
  if (count < 0) return count;
  const err = __nr_hugepages_store_common(m, h, nid, count);
  return err ? err : buf.length;
}

/** `nr_overcommit_hugepages_show`. */
export function nr_overcommit_hugepages_show(h: Hstate): string {
  return `${h.nr_overcommit_huge_pages}\n`;
}

/** `nr_overcommit_hugepages_store`: `-EINVAL` for a gigantic size (v6.14: no gigantic surplus) or bad text. */
export function nr_overcommit_hugepages_store(h: Hstate, buf: string): number {
  if (hstate_is_gigantic(h)) return -EINVAL;
  const input = kstrtoul(buf);
  if (input < 0) return input;
  h.nr_overcommit_huge_pages = input;
  return buf.length;
}

/** `free_hugepages_show`. */
export function free_hugepages_show(h: Hstate, nid: number): string {
  return `${nid === NUMA_NO_NODE ? h.free_huge_pages : h.free_huge_pages_node[nid]}\n`;
}

/** `resv_hugepages_show` (global only). */
export function resv_hugepages_show(h: Hstate): string {
  return `${h.resv_huge_pages}\n`;
}

/** `surplus_hugepages_show`. */
export function surplus_hugepages_show(h: Hstate, nid: number): string {
  return `${nid === NUMA_NO_NODE ? h.surplus_huge_pages : h.surplus_huge_pages_node[nid]}\n`;
}

/**
 * `demote_store`: demote up to `n` free folios (all nodes or one). Each round demotes at most the
 * unreserved free folios (`free − resv`, of the node for a node file); when there are none the write
 * still succeeds and nothing changes — the kernel returns the length, not an error. Errors: `kstrtoul`'s,
 * a vmemmap-restore `-ENOMEM`, `-EBUSY` if only hwpoisoned folios are free.
 *
 * Divergence: v6.12+ passes the whole remaining count to `demote_pool_huge_page`, which can demote
 * reserved folios (leaving `resv > free`); the model caps each round at the unreserved count so
 * reservations stay backed. Results agree whenever `n ≤ free − resv`.
 */
export function demote_store(m: Machine, h: Hstate, nid: number, buf: string): number {
  let nrDemote = kstrtoul(buf);
  if (nrDemote < 0) return nrDemote;
  const mask = nid === NUMA_NO_NODE ? node_states_memory(m) : nodemask_of_node(nid);
  let err = 0;
  const run = (): void => {
    while (nrDemote > 0) {
      const avail = (nid === NUMA_NO_NODE ? h.free_huge_pages : h.free_huge_pages_node[nid]!) - h.resv_huge_pages;
      if (avail <= 0) break;
      const rc = demote_pool_huge_page(m, h, mask, Math.min(nrDemote, avail));
      if (rc < 0) {
        err = rc;
        break;
      }
      nrDemote -= rc;
    }
  };
  if (m.debugVm) m.withChecksDeferred('demote_store', run);
  else run();
  return err ? err : buf.length;
}

/** `demote_size_show`: `"<kB>kB\n"` of the demote target. */
export function demote_size_show(h: Hstate): string {
  return `${(PAGE_SIZE * 2 ** h.demote_order) / 1024}kB\n`;
}

/**
 * `demote_size_store`: `memparse` the size; `-EINVAL` unless it is an hstate size with
 * `HUGETLB_PAGE_ORDER ≤ order < h.order`.
 */
export function demote_size_store(h: Hstate, buf: string): number {
  const dh = size_to_hstate(h.pool, memparseKernel(buf).value);
  if (dh === null || dh.order < HUGETLB_PAGE_ORDER || dh.order >= h.order) return -EINVAL;
  h.demote_order = dh.order;
  return buf.length;
}
