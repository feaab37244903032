import { Checkpointable, EINVAL, InvariantCheck, MmError, MovableOperations, ProcfsContributor, ReplayableOperations, type MmPlugin } from '@mm/core';
import type { DependencyContainer } from 'tsyringe';
import { ZsmallocInvariants } from './invariants.js';
import { ZsmallocProcfs } from './procfs.js';
import { CONFIG_ZSMALLOC_CHAIN_SIZE, zsmallocChainSizeRange } from './size-class.js';
import { ZsmallocMops } from './zsmalloc-mops.js';
import { ZsmallocConfig, ZsmallocState } from './zsmalloc-state.js';
import { ZsmallocCheckpoint } from './checkpoint.js';
import { ZsmallocReplayOperations } from './replay-operations.js';

/** Options of {@link zsmallocPlugin}. */
export interface ZsmallocPluginOptions {
  /** `CONFIG_ZSMALLOC_CHAIN_SIZE`, 4..16; default 8. */
  readonly chainSize?: number;
}

/**
 * The zsmalloc plugin (`mm/zsmalloc.c` as a module): per machine, the zsmalloc state, `zsmalloc_mops`
 * registered for PGTY_zsmalloc (what `zs_init` does with `set_movable_ops` under CONFIG_COMPACTION),
 * the §8 invariant check and the debugfs statistics. `MmError(EINVAL)` for a chain size outside
 * Kconfig's range.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { createMachine } from '@mm/core';
 * import { zs_create_pool, zs_malloc, zsmallocPlugin } from '@mm/zsmalloc';
 *
 * const m = createMachine({ memory: '64M', plugins: [zsmallocPlugin()] });
 * const pool = zs_create_pool(m, 'zram0');
 * const h = zs_malloc(m, pool, 1000); // a handle, or a negative errno
 * console.log(h > 0); // true
 * ```
 */
export function zsmallocPlugin(options: ZsmallocPluginOptions = {}): MmPlugin {
  const chainSize = options.chainSize ?? CONFIG_ZSMALLOC_CHAIN_SIZE;
  const [lo, hi] = zsmallocChainSizeRange;
  if (!(Number.isInteger(chainSize) && chainSize >= lo && chainSize <= hi)) {
    throw new MmError(EINVAL, `zsmallocPlugin: chain size ${chainSize}`, { rule: `CONFIG_ZSMALLOC_CHAIN_SIZE is ${lo}..${hi}` });
  }
  const config: ZsmallocConfig = { chainSize };
  return {
    meta: { name: 'zsmalloc', version: '0.1.0' },
    register(c: DependencyContainer): void {
      c.register(ZsmallocConfig, { useValue: config });
      c.registerSingleton(ZsmallocState);
      c.register(Checkpointable, { useFactory: (x) => new ZsmallocCheckpoint(x.resolve(ZsmallocState)) });
      c.registerSingleton(ZsmallocMops);
      c.register(MovableOperations, { useToken: ZsmallocMops });
      c.registerSingleton(ZsmallocInvariants);
      c.register(InvariantCheck, { useToken: ZsmallocInvariants });
      c.registerSingleton(ZsmallocProcfs);
      c.register(ProcfsContributor, { useToken: ZsmallocProcfs });
      c.registerSingleton(ZsmallocReplayOperations);
      c.register(ReplayableOperations, { useToken: ZsmallocReplayOperations });
    },
  };
}
