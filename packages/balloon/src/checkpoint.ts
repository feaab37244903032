import { Checkpointable, restoreListHeads, saveListHeads, type PageListsCopy } from '@mm/core';
import type { BalloonDevInfo, BalloonMigratepage } from './mm/balloon-dev-info.js';
import type { BalloonState } from './mm/balloon-state.js';

/** One device as saved. */
interface DeviceCopy {
  readonly dev: BalloonDevInfo;
  readonly pages: PageListsCopy;
  readonly isolated_pages: number;
  readonly nrBalloonPagesStat: number;
  readonly migratepage: BalloonMigratepage | null;
  readonly adjust_managed_page_count: boolean;
}

/**
 * The balloon plugin's side of a machine checkpoint (`saveMachineCheckpoint`): the device registry
 * and every registered device's page list, isolated-page count, statistics and driver fields.
 * A restore puts the saved devices back (the same `BalloonDevInfo` objects, their saved contents)
 * and unregisters the devices created after the save. A driver model's own state (e.g. a
 * `VirtioBalloon`'s host request) belongs to the driver object, not to the machine, and is not saved.
 */
export class BalloonCheckpoint implements Checkpointable {
  /** Covers the `balloon` plugin. */
  readonly plugin = 'balloon';
  private readonly state: BalloonState;

  /** For the machine's balloon state. */
  constructor(state: BalloonState) {
    this.state = state;
  }

  /** Copy the registry and every device. */
  save(): readonly DeviceCopy[] {
    const out: DeviceCopy[] = [];
    for (const dev of this.state.devices) {
      if (dev === undefined) continue;
      out.push({
        dev,
        pages: saveListHeads(dev.pages),
        isolated_pages: dev.isolated_pages,
        nrBalloonPagesStat: dev.nrBalloonPagesStat,
        migratepage: dev.migratepage,
        adjust_managed_page_count: dev.adjust_managed_page_count,
      });
    }
    return out;
  }

  /** Put a saved registry back. */
  restore(saved: unknown): void {
    const copies = saved as readonly DeviceCopy[];
    const devices = this.state.devices;
    devices.length = 1;
    for (const c of copies) {
      devices[c.dev.id] = c.dev;
      restoreListHeads(c.dev.pages, c.pages);
      c.dev.isolated_pages = c.isolated_pages;
      c.dev.nrBalloonPagesStat = c.nrBalloonPagesStat;
      c.dev.migratepage = c.migratepage;
      c.dev.adjust_managed_page_count = c.adjust_managed_page_count;
    }
  }
}
