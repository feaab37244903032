import { NR_NODE, PAGE_SIZE, type Machine, type ProcfsContributor } from '@mm/core';
import { injectable } from 'tsyringe';

/**
 * The `Balloon:` line of `/proc/meminfo` and of each node's `meminfo` (`fs/proc/meminfo.c`,
 * `drivers/base/node.c`, since v6.15): NR_BALLOON_PAGES in kB. The vmstat names
 * (`nr_balloon_pages`, `balloon_inflate`, `balloon_deflate`, `balloon_migrate`) are core counters.
 */
@injectable()
export class BalloonMeminfo implements ProcfsContributor {
  /** The contributing package. */
  readonly name = 'balloon';
  /** `Balloon` in kB, for the machine (`nid === null`) or one node. */
  meminfo(m: Machine, nid: number | null): Readonly<Record<string, number>> {
    const nodes = nid === null ? m.nodes : [m.nodes[nid]!];
    let pages = 0;
    for (const node of nodes) pages += node.vmstat[NR_NODE.nr_balloon_pages]!;
    return { Balloon: (pages * PAGE_SIZE) / 1024 };
  }
}
