import { EINVAL, MmError, type Machine } from '@mm/core';
import { procfsContributions, type ProcfsContributions } from '../contributions.js';
import { managed, nodeStat, nodeZoneStat, nodeZones } from '../internal/stats.js';
import { NODE_MEMINFO_FIELDS, meminfoLine } from '../proc/meminfo-fields.js';

/**
 * Per-node sysfs files (`drivers/base/node.c`): `/sys/devices/system/node/node<N>/meminfo` and
 * `numastat`.
 *
 * @module
 */

const K = (pages: number): number => pages * 4;

function checkNode(m: Machine, nid: number, fn: string): void {
  if (!(Number.isInteger(nid) && nid >= 0 && nid < m.nodes.length)) {
    throw new MmError(EINVAL, `${fn}: no node ${nid}`, { rule: `node ids are 0..${m.nodes.length - 1}` });
  }
}

/**
 * The value of every key of node `nid`'s meminfo, in the kernel's order (`si_meminfo_node` and the
 * node's counters; contributed or 0 for the keys the core does not derive).
 */
export function nodeMeminfoValues(m: Machine, nid: number, c: ProcfsContributions = procfsContributions(m)): Map<string, number> {
  checkNode(m, nid, 'node_read_meminfo');
  let total = 0;
  for (const z of nodeZones(m, nid)) total += managed(z);
  const free = nodeZoneStat(m, nid, 'nr_free_pages');
  const s = (n: string): number => nodeStat(m, nid, n);
  const derived = new Map<string, number>([
    ['MemTotal', K(total)],
    ['MemFree', K(free)],
    ['MemUsed', K(total - free)],
    ['SwapCached', K(s('nr_swapcached'))],
    ['Active', K(s('nr_active_anon') + s('nr_active_file'))],
    ['Inactive', K(s('nr_inactive_anon') + s('nr_inactive_file'))],
    ['Active(anon)', K(s('nr_active_anon'))],
    ['Inactive(anon)', K(s('nr_inactive_anon'))],
    ['Active(file)', K(s('nr_active_file'))],
    ['Inactive(file)', K(s('nr_inactive_file'))],
    ['Unevictable', K(s('nr_unevictable'))],
    ['Mlocked', K(nodeZoneStat(m, nid, 'nr_mlock'))],
    ['FilePages', K(s('nr_file_pages'))],
    ['Mapped', K(s('nr_mapped'))],
    ['AnonPages', K(s('nr_anon_pages'))],
    ['Shmem', K(s('nr_shmem'))],
    ['NFS_Unstable', 0],
    ['Bounce', 0],
    ['WritebackTmp', 0],
  ]);
  const given = c.nodeMeminfo.get(nid)!;
  const out = new Map<string, number>();
  for (const f of NODE_MEMINFO_FIELDS) out.set(f.key, (f.derived ? derived.get(f.key) : given.get(f.key)) ?? 0);
  return out;
}

/**
 * `node_read_meminfo()` (`drivers/base/node.c`) + `hugetlb_report_node_meminfo()`: the text of
 * `/sys/devices/system/node/node<nid>/meminfo`, lines `Node <nid> Key:` with the same widths as
 * `/proc/meminfo`, HugePages_Total/Free/Surp of the default size at the end (no Rsvd line).
 * `MmError(EINVAL)` for a node the machine does not have.
 */
export function node_read_meminfo(m: Machine, nid: number, c: ProcfsContributions = procfsContributions(m)): string {
  const values = nodeMeminfoValues(m, nid, c);
  let out = '';
  for (const f of NODE_MEMINFO_FIELDS) out += `Node ${nid} ${meminfoLine(f, values.get(f.key)!, true)}`;
  return out;
}

/**
 * `node_read_numastat()` (`drivers/base/node.c`): the six NUMA allocation counters of a node, `name
 * value` per line. The model keeps no NUMA allocation statistics, so every value is 0.
 * `MmError(EINVAL)` for a node the machine does not have.
 */
export function node_read_numastat(m: Machine, nid: number): string {
  checkNode(m, nid, 'node_read_numastat');
  return 'numa_hit 0\nnuma_miss 0\nnuma_foreign 0\ninterleave_hit 0\nlocal_node 0\nother_node 0\n';
}
