import { EINVAL, ENODEV, Machine, MmError } from '@mm/core';
import { inject, injectable } from 'tsyringe';
import { BalloonDevInfo, type BalloonDevInfoInit } from './balloon-dev-info.js';

/** The balloon plugin's options, resolved (see `balloonPlugin`). */
export interface BalloonConfig {
  /** CONFIG_BALLOON_MIGRATION: balloon pages have movable_ops and can be migrated. */
  readonly migration: boolean;
}

/** DI token for the resolved {@link BalloonConfig} of a machine. */
export const BalloonConfig = Symbol('@mm/balloon:BalloonConfig');

/**
 * The balloon code's per-machine state (one instance per machine's container): the registry of
 * balloon devices, indexed by the id that `page->private` names.
 */
@injectable()
export class BalloonState {
  /** The machine. */
  readonly machine: Machine;
  /** CONFIG_BALLOON_MIGRATION on this machine. */
  readonly migration: boolean;
  /** Devices by id; index 0 is unused (a NULL `private`). */
  readonly devices: (BalloonDevInfo | undefined)[] = [undefined];

  /** Built by the machine's container. */
  constructor(@inject(Machine) m: Machine, @inject(BalloonConfig) config: BalloonConfig) {
    this.machine = m;
    this.migration = config.migration;
  }

  /** Create and register a device (`balloon_devinfo_init`). */
  register(init: BalloonDevInfoInit): BalloonDevInfo {
    const b = new BalloonDevInfo(this.machine, this.devices.length, this.migration, init);
    this.devices.push(b);
    return b;
  }

  /** The device whose id is `id`, or null. */
  device(id: number): BalloonDevInfo | null {
    return (id > 0 && this.devices[id]) || null;
  }
}

/**
 * `balloon_devinfo_init(b_dev_info)` (`include/linux/balloon.h`): a new, empty balloon device on `m`,
 * registered in the machine's balloon registry so that `page->private` can name it. The kernel
 * initialises a structure the driver embeds; the model creates it and lets the driver pass the fields
 * it would set afterwards (`migratepage`, `adjust_managed_page_count`). `MmError(ENODEV)` if the
 * machine was booted without `balloonPlugin()`.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { NR_NODE, createMachine } from '@mm/core';
 * import { balloonPlugin, balloon_devinfo_init, balloon_page_alloc, balloon_page_dequeue, balloon_page_enqueue } from '@mm/balloon';
 *
 * const m = createMachine({ memory: '64M', debugVm: true, plugins: [balloonPlugin()] });
 * // A driver's device; its migratepage tells the hypervisor about a moved page (0: done).
 * const b = balloon_devinfo_init(m, { name: 'my-balloon', migratepage: () => 0 });
 * for (let i = 0; i < 16; i++) {
 *   const page = balloon_page_alloc(m); // inflate: a page for the hypervisor
 *   if (page === -1) break;
 *   balloon_page_enqueue(m, b, page);
 * }
 * console.log(b.nrListed, m.nodes[0]!.vmstat[NR_NODE.nr_balloon_pages]); // 16 16
 * const page = balloon_page_dequeue(m, b); // deflate one; the driver frees it after telling the host
 * console.log(page >= 0, b.nrListed); // true 15
 * ```
 */
export function balloon_devinfo_init(m: Machine, init: BalloonDevInfoInit = {}): BalloonDevInfo {
  if (!m.container.isRegistered(BalloonState, true)) {
    throw new MmError(ENODEV, 'balloon_devinfo_init: the machine has no balloon support', { rule: 'boot the machine with balloonPlugin()' });
  }
  if (init.migratepage !== undefined && init.migratepage !== null && typeof init.migratepage !== 'function') {
    throw new MmError(EINVAL, 'balloon_devinfo_init: migratepage is not a function', { rule: 'migratepage is a callback or null' });
  }
  return m.container.resolve(BalloonState).register(init);
}
