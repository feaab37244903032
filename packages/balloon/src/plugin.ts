import { Checkpointable, EINVAL, InvariantCheck, Machine, MmError, MovableOperations, ProcfsContributor, ReplayableOperations, type MmPlugin } from '@mm/core';
import type { DependencyContainer } from 'tsyringe';
import { BalloonInvariants } from './debug/balloon-invariants.js';
import { BalloonMops } from './mm/balloon-mops.js';
import { BalloonConfig, BalloonState } from './mm/balloon-state.js';
import { BalloonMeminfo } from './procfs/balloon-meminfo.js';
import { BalloonCheckpoint } from './checkpoint.js';
import { BalloonReplayOperations } from './replay-operations.js';

/** Options of {@link balloonPlugin}; also read from `pluginOptions.balloon` of the machine config. */
export interface BalloonPluginOptions {
  /**
   * CONFIG_BALLOON_MIGRATION (CONFIG_BALLOON_COMPACTION before 2026): balloon pages get
   * PG_movable_ops and `page->private`, `balloon_mops` is registered for PGTY_offline, and
   * `balloon_page_alloc` uses GFP_HIGHUSER_MOVABLE. Default true.
   */
  readonly migration?: boolean;
}

/**
 * The balloon plugin: per-machine balloon state (the device registry), `balloon_mops` for
 * PGTY_offline when balloon migration is configured, the §13 §7 invariant check and the `Balloon:`
 * meminfo line. Devices are created afterwards with `balloon_devinfo_init(m)` or by the driver
 * models (`virtballoon_probe`, `vmballoon_init`, `cmm_init`).
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { createMachine } from '@mm/core';
 * import { balloonPlugin, virtballoon_changed, virtballoon_probe } from '@mm/balloon';
 *
 * const m = createMachine({ memory: '256M', plugins: [balloonPlugin()] });
 * const vb = virtballoon_probe(m);
 * vb.host.num_pages = 1000; // the host asks for 1000 pages
 * virtballoon_changed(m, vb);
 * console.log(vb.num_pages); // 1000
 * ```
 */
export function balloonPlugin(options?: BalloonPluginOptions): MmPlugin {
  return {
    meta: { name: 'balloon', version: '0.1.0' },
    register(c: DependencyContainer): void {
      const fromMachine = c.resolve(Machine).config.pluginOptions['balloon'] as BalloonPluginOptions | undefined;
      const migration = options?.migration ?? fromMachine?.migration ?? true;
      if (typeof migration !== 'boolean') {
        throw new MmError(EINVAL, `balloonPlugin: migration ${String(migration)}`, { rule: 'migration is true or false' });
      }
      const config: BalloonConfig = { migration };
      c.register(BalloonConfig, { useValue: config });
      c.registerSingleton(BalloonState);
      c.register(InvariantCheck, { useClass: BalloonInvariants });
      c.register(ProcfsContributor, { useClass: BalloonMeminfo });
      c.register(Checkpointable, { useFactory: (x) => new BalloonCheckpoint(x.resolve(BalloonState)) });
      c.registerSingleton(BalloonReplayOperations);
      c.register(ReplayableOperations, { useToken: BalloonReplayOperations });
      if (migration) {
        c.registerSingleton(BalloonMops);
        c.register(MovableOperations, { useToken: BalloonMops });
      }
    },
  };
}
