import { ProcfsContributor, type Machine } from '@mm/core';
import { inject, injectable } from 'tsyringe';
import { zs_stats_size_show } from './stats.js';
import { ZsmallocState } from './zsmalloc-state.js';

/**
 * zsmalloc's part of a machine snapshot: debugfs `sys/kernel/debug/zsmalloc/<pool>/classes` for every
 * live pool. As in the kernel, a second pool with the same name gets no debugfs directory
 * (`debugfs_create_dir` fails and zsmalloc only warns), so only the first is shown.
 */
@injectable()
export class ZsmallocProcfs implements ProcfsContributor {
  /** The contributing package. */
  readonly name = 'zsmalloc';

  /** Built by the DI container. */
  constructor(@inject(ZsmallocState) private readonly st: ZsmallocState) {}

  /** The `classes` file of each pool. */
  files(m: Machine): Readonly<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const pool of this.st.pools) {
      if (pool === undefined) continue;
      const path = `sys/kernel/debug/zsmalloc/${pool.name}/classes`;
      if (!(path in out)) out[path] = zs_stats_size_show(m, pool);
    }
    return out;
  }
}
