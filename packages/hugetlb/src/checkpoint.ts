import { Checkpointable, restoreListHeads, saveListHeads, type Folio, type PageListsCopy } from '@mm/core';
import type { HugetlbCgroup } from './cgroup/hugetlb-cgroup.js';
import type { PageCounter } from './cgroup/page-counter.js';
import { restoreHugetlbfs, saveHugetlbfs, type HugetlbfsCopy } from './fs/hugetlbfs-checkpoint.js';
import type { Hstate } from './hstate.js';
import type { HugepageSubpool } from './resv/subpool.js';
import type { HugetlbState, LentFolio } from './state.js';

const HSTATE_SCALARS = [
  'demote_order',
  'nr_huge_pages',
  'free_huge_pages',
  'resv_huge_pages',
  'surplus_huge_pages',
  'nr_overcommit_huge_pages',
  'max_huge_pages',
  'next_nid_to_alloc',
  'next_nid_to_free',
  'vmemmap_pages_freed',
] as const;
const HSTATE_ARRAYS = ['nr_huge_pages_node', 'free_huge_pages_node', 'surplus_huge_pages_node', 'max_huge_pages_node'] as const;

interface HstateCopy {
  readonly h: Hstate;
  readonly scalars: Float64Array;
  readonly arrays: Float64Array[];
  readonly freelists: PageListsCopy;
  readonly activelist: PageListsCopy;
}

interface CounterCopy {
  readonly c: PageCounter;
  readonly usage: number;
  readonly max: number;
  readonly watermark: number;
  readonly failcnt: number;
}

interface CgroupCopy {
  readonly cg: HugetlbCgroup;
  readonly children: HugetlbCgroup[];
  readonly counters: CounterCopy[];
  readonly events: Float64Array;
  readonly events_local: Float64Array;
  readonly online: boolean;
  readonly nr_tasks: number;
}

interface SubpoolCopy {
  readonly s: HugepageSubpool;
  readonly count: number;
  readonly used_hpages: number;
  readonly rsv_hpages: number;
  readonly released: boolean;
}

interface HugetlbCopy {
  readonly hstates: HstateCopy[];
  readonly default_hstate_idx: number;
  readonly hvo: boolean;
  readonly vmemmapRestoreFailures: number;
  readonly vmemmapRestoreFilter: ((folio: Folio) => boolean) | null;
  readonly subpools: (HugepageSubpool | undefined)[];
  readonly subpoolCopies: SubpoolCopy[];
  readonly cgroups: (HugetlbCgroup | undefined)[];
  readonly cgroupCopies: CgroupCopy[];
  readonly isolated: number[];
  readonly transient: number[];
  readonly lent: [number, LentFolio][];
  readonly hugetlbfs: HugetlbfsCopy;
  readonly nextMmId: number;
  readonly nextIno: number;
  readonly bootWarnings: number;
}

function copyCounter(c: PageCounter): CounterCopy {
  return { c, usage: c.usage, max: c.max, watermark: c.watermark, failcnt: c.failcnt };
}

/**
 * The hugetlb plugin's side of a machine checkpoint (`saveMachineCheckpoint`): every hstate's
 * counters, per-node counters, free lists and active list; the subpools, the cgroups (page
 * counters, events, children); the isolated, transient and lent folios; the id counters; the
 * hugetlbfs mounts, files (page cache, reservation maps), processes and their VMAs (page tables)
 * (`saveHugetlbfs`). A restore puts the same objects back with their saved contents and drops what
 * was created after the save.
 */
export class HugetlbCheckpoint implements Checkpointable {
  /** Covers the `hugetlb` plugin. */
  readonly plugin = 'hugetlb';
  private readonly pool: HugetlbState;

  /** For the machine's hugetlb state. */
  constructor(pool: HugetlbState) {
    this.pool = pool;
  }

  /** Copy the pool's state. */
  save(): HugetlbCopy {
    const p = this.pool;
    return {
      hstates: p.hstates.map((h) => ({
        h,
        scalars: Float64Array.from(HSTATE_SCALARS, (k) => h[k]),
        arrays: HSTATE_ARRAYS.map((k) => h[k].slice()),
        freelists: saveListHeads(h.hugepage_freelists),
        activelist: saveListHeads(h.hugepage_activelist),
      })),
      default_hstate_idx: p.default_hstate_idx,
      hvo: p.hvo,
      vmemmapRestoreFailures: p.vmemmapRestoreFailures,
      vmemmapRestoreFilter: p.vmemmapRestoreFilter,
      subpools: [...p.subpools],
      subpoolCopies: p.subpools
        .filter((s): s is HugepageSubpool => s !== undefined)
        .map((s) => ({ s, count: s.count, used_hpages: s.used_hpages, rsv_hpages: s.rsv_hpages, released: s.released })),
      cgroups: [...p.cgroups],
      cgroupCopies: p.cgroups
        .filter((cg): cg is HugetlbCgroup => cg !== undefined)
        .map((cg) => ({
          cg,
          children: [...cg.children],
          counters: [...cg.hugepage, ...cg.rsvd_hugepage].map(copyCounter),
          events: cg.events.slice(),
          events_local: cg.events_local.slice(),
          online: cg.online,
          nr_tasks: cg.nr_tasks,
        })),
      isolated: [...p.isolated],
      transient: [...p.transient],
      lent: [...p.lent],
      hugetlbfs: saveHugetlbfs(p),
      nextMmId: p.nextMmId,
      nextIno: p.nextIno,
      bootWarnings: p.bootWarnings.length,
    };
  }

  /** Put a saved pool state back. */
  restore(saved: unknown): void {
    const s = saved as HugetlbCopy;
    const p = this.pool;
    for (const c of s.hstates) {
      HSTATE_SCALARS.forEach((k, i) => (c.h[k] = c.scalars[i]!));
      HSTATE_ARRAYS.forEach((k, i) => c.h[k].set(c.arrays[i]!));
      restoreListHeads(c.h.hugepage_freelists, c.freelists);
      restoreListHeads(c.h.hugepage_activelist, c.activelist);
    }
    p.default_hstate_idx = s.default_hstate_idx;
    p.hvo = s.hvo;
    p.vmemmapRestoreFailures = s.vmemmapRestoreFailures;
    p.vmemmapRestoreFilter = s.vmemmapRestoreFilter;
    p.subpools.length = 0;
    p.subpools.push(...s.subpools);
    for (const c of s.subpoolCopies) Object.assign(c.s, { count: c.count, used_hpages: c.used_hpages, rsv_hpages: c.rsv_hpages, released: c.released });
    p.cgroups.length = 0;
    p.cgroups.push(...s.cgroups);
    for (const c of s.cgroupCopies) {
      c.cg.children.clear();
      for (const ch of c.children) c.cg.children.add(ch);
      for (const k of c.counters) Object.assign(k.c, { usage: k.usage, max: k.max, watermark: k.watermark, failcnt: k.failcnt });
      c.cg.events.set(c.events);
      c.cg.events_local.set(c.events_local);
      c.cg.online = c.online;
      c.cg.nr_tasks = c.nr_tasks;
    }
    p.isolated.clear();
    for (const f of s.isolated) p.isolated.add(f);
    p.transient.clear();
    for (const f of s.transient) p.transient.add(f);
    p.lent.clear();
    for (const [k, v] of s.lent) p.lent.set(k, v);
    restoreHugetlbfs(p, s.hugetlbfs);
    p.nextMmId = s.nextMmId;
    p.nextIno = s.nextIno;
    p.bootWarnings.length = s.bootWarnings;
  }
}
