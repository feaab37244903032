import type { Machine } from './machine.js';

/**
 * What an owner package adds to a machine's `/proc` and `/sys` snapshot (DI token and interface share
 * the name). `@mm/procfs` resolves every contributor; owners need not depend on it.
 */
export interface ProcfsContributor {
  /** The contributing package, e.g. `"hugetlb"`. */
  readonly name: string;
  /**
   * `/proc/meminfo` fields this owner knows, by the kernel's key (`HugePages_Total`, `Hugepagesize`,
   * `Hugetlb`, …), for the whole machine (`nid === null`) or one node's
   * `/sys/devices/system/node/node<nid>/meminfo`. Values are in the kernel's unit for that key (kB for
   * sizes, a count for `HugePages_*`); `@mm/procfs` owns the order and the formatting.
   */
  meminfo?(m: Machine, nid: number | null): Readonly<Record<string, number>>;
  /** Whole files, by path relative to the snapshot root (`sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages`). */
  files?(m: Machine): Readonly<Record<string, string>>;
}

/** DI token for {@link ProcfsContributor} providers. */
export const ProcfsContributor = Symbol('@mm/core:ProcfsContributor');
