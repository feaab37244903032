import { EOPNOTSUPP, Machine, MmError, type Folio } from '@mm/core';
import { inject, injectable } from 'tsyringe';
import { HugetlbCgroup } from './cgroup/hugetlb-cgroup.js';
import { HugetlbInvariants } from './debug/invariants.js';
import { HugetlbOwnerOps } from './folio/owner.js';
import type { HugetlbfsInode, HugetlbfsSbInfo, MmStruct } from './fs/types.js';
import { Hstate } from './hstate.js';
import { HugetlbProcfs } from './sysfs/procfs.js';
import type { HugepageSubpool } from './resv/subpool.js';

/**
 * The per-machine hugetlb state — what the kernel keeps in globals (`hstates[]`, `hugetlb_lock`,
 * `default_hstate_idx`, the cgroup root, hugetlbfs mounts) — as one DI singleton in the machine's
 * own container, so two machines never share a pool.
 *
 * @module
 */

/** Boot parameters after parsing the command line (`hugepagesz=`, `hugepages=`, `default_hugepagesz=`, `hugetlb_free_vmemmap=`). */
export interface HugetlbBootParams {
  /** Orders of the hstates, in `hstates[]` order. */
  readonly orders: readonly number[];
  /** Order of the default hstate (`default_hugepagesz=`, else 2 MiB). */
  readonly defaultOrder: number;
  /** Boot pool request per order: a total, or per-node counts (`hugepages=0:N,1:M`). */
  readonly pools: ReadonlyMap<
    number,
    {
      /** Huge pages requested (`max_huge_pages`): `hugepages=N`, or the sum of the per-node counts. */
      readonly total: number;
      /** Per-node counts from `hugepages=0:N,1:M` (`max_huge_pages_node[]`), or `null` for a plain count. */
      readonly perNode: readonly number[] | null;
    }
  >;
  /** HVO enabled (`hugetlb_free_vmemmap=on`). */
  readonly hvo: boolean;
}

/** DI token for the parsed {@link HugetlbBootParams}. */
export const HugetlbParams = Symbol('@mm/hugetlb:HugetlbParams');

/** A folio lent out of the pool (see `hugetlbLendFolio`): what it carried while it was a hugetlb folio. */
export interface LentFolio {
  /** Its hstate. */
  readonly h: Hstate;
  /** Fault-charge cgroup id (0: none). */
  readonly cgroup: number;
  /** Reservation-charge cgroup id (0: none). */
  readonly cgroupRsvd: number;
  /** Subpool id (0: none). */
  readonly subpool: number;
  /** The `private` word (hugetlb flags) when lent. */
  readonly flags: number;
}

/** The hugetlb state of one machine. */
@injectable()
export class HugetlbState {
  /** The machine. */
  readonly m: Machine;
  /** `hstates[]`. */
  readonly hstates: Hstate[] = [];
  /** `default_hstate_idx`. */
  default_hstate_idx = 0;
  /** The `folio_owner_ops` of hugetlb (series 1) with the mainline `__folio_put` branch. */
  readonly ownerOps: HugetlbOwnerOps;
  /** The §13 §4 invariant check. */
  readonly invariants: HugetlbInvariants;
  /** The `/proc` and `/sys` contributor. */
  readonly procfs: HugetlbProcfs;
  /** `hugetlb_optimize_vmemmap` (HVO) enabled. */
  hvo: boolean;
  /** Fail this many upcoming vmemmap restores with `-ENOMEM` (to exercise the error paths). */
  vmemmapRestoreFailures = 0;
  /** Or fail every restore of a folio this returns true for. */
  vmemmapRestoreFilter: ((folio: Folio) => boolean) | null = null;
  /** Subpools by id (index 0 unused). */
  readonly subpools: (HugepageSubpool | undefined)[] = [undefined];
  /** Cgroups by id (index 0 unused); the root is id 1. */
  readonly cgroups: (HugetlbCgroup | undefined)[] = [undefined];
  /** `root_h_cgroup`. */
  readonly root_h_cgroup: HugetlbCgroup;
  /** Folios isolated for migration (on a caller's list, owner ops cleared). */
  readonly isolated = new Set<number>();
  /** Temporary folios between allocation and their first list (migration targets). */
  readonly transient = new Set<number>();
  /** Folios lent out to another owner (`hugetlbLendFolio`), by head PFN. */
  readonly lent = new Map<number, LentFolio>();
  /** hugetlbfs mounts. */
  readonly mounts: HugetlbfsSbInfo[] = [];
  /** Processes. */
  readonly mms: MmStruct[] = [];
  /** hugetlbfs files by the id of their `address_space`. */
  readonly inodeByMapping = new Map<number, HugetlbfsInode>();
  /** Next process id. */
  nextMmId = 1;
  /** Next inode number. */
  nextIno = 1;
  /** Boot parameters the kernel would have ignored with a warning. */
  readonly bootWarnings: string[] = [];

  /** Build the hstates and the cgroup root from the boot parameters (pools are allocated by the plugin's `init`). */
  constructor(@inject(Machine) m: Machine, @inject(HugetlbParams) params: HugetlbBootParams) {
    this.m = m;
    this.hvo = params.hvo;
    params.orders.forEach((order, i) => this.hstates.push(new Hstate(this, i, order, m.nodes.length)));
    this.default_hstate_idx = Math.max(0, params.orders.indexOf(params.defaultOrder));
    this.root_h_cgroup = new HugetlbCgroup(1, '', null, this.hstates);
    this.cgroups.push(this.root_h_cgroup);
    this.ownerOps = new HugetlbOwnerOps(this);
    this.invariants = new HugetlbInvariants(this);
    this.procfs = new HugetlbProcfs(this);
  }

  /** `default_hstate`. */
  get default_hstate(): Hstate {
    return this.hstates[this.default_hstate_idx]!;
  }
}

/**
 * The hugetlb state of machine `m`. `MmError(EOPNOTSUPP)` if the machine was booted without
 * `hugetlbPlugin()` (the kernel's `!hugepages_supported()`).
 */
export function hugetlbOf(m: Machine): HugetlbState {
  if (!m.container.isRegistered(HugetlbState, true)) {
    throw new MmError(EOPNOTSUPP, 'hugetlb is not installed on this machine', { rule: 'boot with hugetlbPlugin()' });
  }
  return m.container.resolve(HugetlbState);
}
