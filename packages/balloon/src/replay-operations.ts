import { EINVAL, MmError, ReplayIds, defineReplayableOperation, type Machine, type Pfn, type ReplayableOperation, type ReplayableOperations } from '@mm/core';
import { injectable } from 'tsyringe';
import { fill_balloon, leak_balloon, virtballoon_changed, virtballoon_probe, virtballoon_remove, type VirtioBalloon } from './drivers/virtio-balloon.js';
import type { BalloonDevInfo } from './mm/balloon-dev-info.js';
import { balloon_page_alloc } from './mm/balloon-alloc.js';
import { balloon_page_dequeue } from './mm/balloon-dequeue.js';
import { balloon_page_enqueue } from './mm/balloon-enqueue.js';
import { balloon_devinfo_init } from './mm/balloon-state.js';

/**
 * The balloon's replayable operations (the core's `ReplayableOperations`), so that a recorded
 * scenario can inflate and deflate balloons and a trace replays it. Objects are named by ids handed
 * out in creation order: `balloon_devinfo_init` and `virtballoon_probe` return one.
 *
 * @module
 */

/**
 * Per machine: the balloon devices and virtio balloons the operations created, and the operations.
 *
 * - `balloon_devinfo_init()` → device id (a device with the default init: no `migratepage`, managed
 *   page count adjusted); `balloon_page_alloc()` → PFN or -1; `balloon_page_enqueue(dev, pfn)`
 *   (inflate one page); `balloon_page_dequeue(dev)` → PFN or -1 (deflate one page, which keeps the
 *   driver's reference: free it with the core's `put_page`).
 * - `virtballoon_probe(deflateOnOom?)` → balloon id; `fill_balloon(vb, num)` and `leak_balloon(vb, num)`
 *   → frames inflated / deflated; `virtballoonSetTarget(vb, num_pages)` (camelCase: the host writing
 *   its `num_pages` config field, then `virtballoon_changed`, which inflates or deflates towards it)
 *   → `virtballoon_changed`'s result; `virtballoon_remove(vb)`.
 */
@injectable()
export class BalloonReplayOperations implements ReplayableOperations {
  /** Balloon devices created by `balloon_devinfo_init`, by id. */
  readonly devices = new ReplayIds<BalloonDevInfo>('balloon device');
  /** Virtio balloons created by `virtballoon_probe`, by id. */
  readonly balloons = new ReplayIds<VirtioBalloon>('virtio balloon');
  /** The operations. */
  readonly operations: readonly ReplayableOperation[] = [
    defineReplayableOperation('balloon_devinfo_init', [], (m: Machine) => this.devices.add(balloon_devinfo_init(m))),
    defineReplayableOperation('balloon_page_alloc', [], (m: Machine) => balloon_page_alloc(m)),
    defineReplayableOperation('balloon_page_enqueue', ['int', 'pfn'], (m: Machine, dev: number, page: Pfn) =>
      balloon_page_enqueue(m, this.devices.get(dev, 'balloon_page_enqueue'), page),
    ),
    defineReplayableOperation('balloon_page_dequeue', ['int'], (m: Machine, dev: number) => balloon_page_dequeue(m, this.devices.get(dev, 'balloon_page_dequeue'))),
    defineReplayableOperation('virtballoon_probe', ['boolean?'], (m: Machine, deflateOnOom?: boolean) =>
      this.balloons.add(virtballoon_probe(m, deflateOnOom === undefined ? {} : { deflateOnOom })),
    ),
    defineReplayableOperation('fill_balloon', ['int', 'int'], (m: Machine, vb: number, num: number) => fill_balloon(m, this.balloons.get(vb, 'fill_balloon'), num)),
    defineReplayableOperation('leak_balloon', ['int', 'int'], (m: Machine, vb: number, num: number) => leak_balloon(m, this.balloons.get(vb, 'leak_balloon'), num)),
    defineReplayableOperation('virtballoonSetTarget', ['int', 'int'], (m: Machine, id: number, numPages: number) => {
      const vb = this.balloons.get(id, 'virtballoonSetTarget');
      if (numPages < 0) throw new MmError(EINVAL, `virtballoonSetTarget: num_pages ${numPages}`, { rule: 'a count of frames ≥ 0' });
      vb.host.num_pages = numPages;
      return virtballoon_changed(m, vb);
    }),
    defineReplayableOperation('virtballoon_remove', ['int'], (m: Machine, id: number) => {
      virtballoon_remove(m, this.balloons.get(id, 'virtballoon_remove'));
      this.balloons.remove(id);
    }),
  ];
}
