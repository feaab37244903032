import { EINVAL, ENOENT, NUMA_NO_NODE, type Machine, type ProcfsContributor } from '@mm/core';
import { hugetlbCgroupFileNames, hugetlbCgroupRead } from '../cgroup/hugetlb-cgroup.js';
import { huge_page_size, hstate_is_gigantic, type Hstate } from '../hstate.js';
import { __nr_hugepages_store_common } from '../pool/resize.js';
import type { HugetlbState } from '../state.js';
import {
  demote_size_show,
  demote_size_store,
  demote_store,
  free_hugepages_show,
  nr_hugepages_show,
  nr_hugepages_store,
  nr_overcommit_hugepages_show,
  nr_overcommit_hugepages_store,
  resv_hugepages_show,
  surplus_hugepages_show,
} from './hstate-attrs.js';

/**
 * What hugetlb shows in `/proc` and `/sys`: the meminfo lines (`hugetlb_report_meminfo`,
 * `hugetlb_report_node_meminfo`), the hstate sysfs directories, the `vm.nr_hugepages` sysctls and the
 * cgroup v2 hugetlb files — for reading, and the writable ones for writing.
 *
 * @module
 */

/**
 * `hugetlb_report_meminfo` (global) / `hugetlb_report_node_meminfo` (one node): the default hstate's
 * `HugePages_Total/Free/Rsvd/Surp` and `Hugepagesize` (kB) plus `Hugetlb` (kB, every size) globally;
 * per node only `HugePages_Total/Free/Surp`, as the kernel prints them.
 */
export function hugetlb_report_meminfo(pool: HugetlbState, nid: number | null): Record<string, number> {
  const h = pool.default_hstate;
  if (nid !== null) {
    return { HugePages_Total: h.nr_huge_pages_node[nid]!, HugePages_Free: h.free_huge_pages_node[nid]!, HugePages_Surp: h.surplus_huge_pages_node[nid]! };
  }
  let total = 0;
  for (const x of pool.hstates) total += x.nr_huge_pages * huge_page_size(x);
  return {
    HugePages_Total: h.nr_huge_pages,
    HugePages_Free: h.free_huge_pages,
    HugePages_Rsvd: h.resv_huge_pages,
    HugePages_Surp: h.surplus_huge_pages,
    Hugepagesize: huge_page_size(h) / 1024,
    Hugetlb: total / 1024,
  };
}

interface Attr {
  readonly h: Hstate;
  readonly nid: number;
  readonly name: string;
}

/** Which hstate attribute (or sysctl) a path names, or null. */
function lookup(pool: HugetlbState, path: string): Attr | 'sysctl' | null {
  if (/^proc\/sys\/vm\/(nr_hugepages|nr_hugepages_mempolicy|nr_overcommit_hugepages)$/.test(path)) return 'sysctl';
  const g = /^sys\/kernel\/mm\/hugepages\/hugepages-(\d+)kB\/(\w+)$/.exec(path);
  const n = /^sys\/devices\/system\/node\/node(\d+)\/hugepages\/hugepages-(\d+)kB\/(\w+)$/.exec(path);
  let nid: number;
  let kb: string;
  let name: string;
  if (g) [nid, kb, name] = [NUMA_NO_NODE, g[1]!, g[2]!];
  else if (n && Number(n[1]) < pool.m.nodes.length) [nid, kb, name] = [Number(n[1]), n[2]!, n[3]!];
  else return null;
  const h = pool.hstates.find((x) => huge_page_size(x) / 1024 === Number(kb));
  return h ? { h, nid, name } : null;
}

/** The attribute names a hstate directory has (global or per node); `demote*` only when the size can demote. */
function attrNames(h: Hstate, nid: number): string[] {
  const base = nid === NUMA_NO_NODE
    ? ['nr_hugepages', 'nr_hugepages_mempolicy', 'nr_overcommit_hugepages', 'free_hugepages', 'resv_hugepages', 'surplus_hugepages']
    : ['nr_hugepages', 'free_hugepages', 'surplus_hugepages'];
  return h.demote_order ? [...base, 'demote_size', 'demote'] : base;
}

/** Read a hugetlb `/sys` or `/proc/sys/vm` file by path (relative to the root); null if there is no such readable file. */
export function hugetlbSysfsRead(pool: HugetlbState, path: string): string | null {
  const a = lookup(pool, path);
  if (a === null) return null;
  if (a === 'sysctl') {
    const h = pool.default_hstate;
    return `${path.endsWith('overcommit_hugepages') ? h.nr_overcommit_huge_pages : h.max_huge_pages}\n`;
  }
  if (!attrNames(a.h, a.nid).includes(a.name)) return null;
  switch (a.name) {
    case 'nr_hugepages':
    case 'nr_hugepages_mempolicy':
      return nr_hugepages_show(a.h, a.nid);
    case 'nr_overcommit_hugepages':
      return nr_overcommit_hugepages_show(a.h);
    case 'free_hugepages':
      return free_hugepages_show(a.h, a.nid);
    case 'resv_hugepages':
      return resv_hugepages_show(a.h);
    case 'surplus_hugepages':
      return surplus_hugepages_show(a.h, a.nid);
    case 'demote_size':
      return demote_size_show(a.h);
    default:
      return null; // demote is write-only
  }
}

/**
 * `proc_doulongvec_minmax` parsing for the sysctls: leading blanks, digits, trailing blanks; a sign or
 * anything else is `-EINVAL`.
 */
function procUlong(buf: string): number {
  const s = buf.trim();
  return /^\d+$/.test(s) ? Number(s) : -EINVAL;
}

/**
 * Write a hugetlb `/sys` or `/proc/sys/vm` file: returns the bytes written or a negative errno
 * (`-ENOENT` for a file that does not exist, `-EINVAL` for a read-only one or bad input, whatever the
 * store returns). `vm.nr_hugepages` and `vm.nr_overcommit_hugepages` act on the default hstate.
 */
export function hugetlbSysfsWrite(pool: HugetlbState, path: string, buf: string): number {
  const m: Machine = pool.m;
  const a = lookup(pool, path);
  if (a === null) return -ENOENT;
  if (a === 'sysctl') {
    const h = pool.default_hstate;
    if (path.endsWith('overcommit_hugepages') && hstate_is_gigantic(h)) return -EINVAL;
    const v = procUlong(buf);
    if (v < 0) return v;
    if (path.endsWith('overcommit_hugepages')) h.nr_overcommit_huge_pages = v;
    else {
      const rc = __nr_hugepages_store_common(m, h, NUMA_NO_NODE, v);
      if (rc < 0) return rc;
    }
    return buf.length;
  }
  if (!attrNames(a.h, a.nid).includes(a.name)) return -ENOENT;
  switch (a.name) {
    case 'nr_hugepages':
    case 'nr_hugepages_mempolicy':
      return nr_hugepages_store(m, a.h, a.nid, buf);
    case 'nr_overcommit_hugepages':
      return nr_overcommit_hugepages_store(a.h, buf);
    case 'demote':
      return demote_store(m, a.h, a.nid, buf);
    case 'demote_size':
      return demote_size_store(a.h, buf);
    default:
      return -EINVAL; // read-only attribute
  }
}

/** Every readable hugetlb file with its contents, by path relative to the snapshot root. */
export function hugetlbFiles(pool: HugetlbState): Record<string, string> {
  const out: Record<string, string> = {};
  const dirs: [string, number][] = [['sys/kernel/mm/hugepages', NUMA_NO_NODE]];
  for (let nid = 0; nid < pool.m.nodes.length; nid++) dirs.push([`sys/devices/system/node/node${nid}/hugepages`, nid]);
  for (const [dir, nid] of dirs) {
    for (const h of pool.hstates) {
      for (const name of attrNames(h, nid)) {
        const path = `${dir}/${h.name}/${name}`;
        const v = hugetlbSysfsRead(pool, path);
        if (v !== null) out[path] = v;
      }
    }
  }
  for (const name of ['nr_hugepages', 'nr_hugepages_mempolicy', 'nr_overcommit_hugepages']) out[`proc/sys/vm/${name}`] = hugetlbSysfsRead(pool, `proc/sys/vm/${name}`)!;
  for (const cg of pool.cgroups) {
    if (cg === undefined || !cg.online || cg.parent === null) continue;
    for (const h of pool.hstates) {
      for (const file of hugetlbCgroupFileNames(h)) out[`sys/fs/cgroup/${cg.path}/${file}`] = hugetlbCgroupRead(pool, cg, file)!;
    }
  }
  return out;
}

/** hugetlb's {@link ProcfsContributor}: meminfo values and the files above. */
export class HugetlbProcfs implements ProcfsContributor {
  /** `"hugetlb"`. */
  readonly name = 'hugetlb';
  private readonly pool: HugetlbState;

  /** The contributor of one machine's hugetlb. */
  constructor(pool: HugetlbState) {
    this.pool = pool;
  }

  /** `/proc/meminfo` (nid null) or a node's meminfo: see {@link hugetlb_report_meminfo}. */
  meminfo(_m: Machine, nid: number | null): Readonly<Record<string, number>> {
    return hugetlb_report_meminfo(this.pool, nid);
  }

  /** The hugetlb `/sys` and `/proc/sys/vm` files and the cgroup files of every non-root cgroup. */
  files(_m: Machine): Readonly<Record<string, string>> {
    return hugetlbFiles(this.pool);
  }
}
