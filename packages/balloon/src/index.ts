/**
 * `@mm/balloon`: memory balloons for the `@mm` model (`mm/balloon.c`, `include/linux/balloon.h` after
 * the 2026 balloon cleanups, with series 2's sticky PageOffline): `BalloonDevInfo`, inflate
 * (`balloon_page_enqueue`) and deflate (`balloon_page_dequeue`), and migration of balloon pages
 * through the core's movable_ops (`balloon_mops` for PGTY_offline). Three small driver models show
 * how drivers use it: virtio-balloon, the VMware balloon and pseries CMM in simulation mode.
 *
 * Boot a machine with {@link balloonPlugin}, then create devices with {@link balloon_devinfo_init}
 * or a driver model.
 *
 * @packageDocumentation
 */

export { balloonPlugin, type BalloonPluginOptions } from './plugin.js';
export { BalloonDevInfo, type BalloonDevInfoInit, type BalloonMigratepage } from './mm/balloon-dev-info.js';
export { BalloonState, BalloonConfig, balloon_devinfo_init } from './mm/balloon-state.js';
export { balloon_page_alloc } from './mm/balloon-alloc.js';
export { balloon_page_insert, balloon_page_finalize, balloon_page_device } from './mm/balloon-page.js';
export { balloon_page_enqueue, balloon_page_list_enqueue } from './mm/balloon-enqueue.js';
export { balloon_page_dequeue, balloon_page_list_dequeue } from './mm/balloon-dequeue.js';
export { BalloonMops } from './mm/balloon-mops.js';
export { BalloonInvariants } from './debug/balloon-invariants.js';
export { BalloonMeminfo } from './procfs/balloon-meminfo.js';

export {
  VirtioBalloon,
  VirtioBalloonHost,
  type VirtioBalloonOptions,
  VIRTIO_BALLOON_PFN_SHIFT,
  VIRTIO_BALLOON_PAGES_PER_PAGE,
  VIRTIO_BALLOON_ARRAY_PFNS_MAX,
  virtballoon_probe,
  fill_balloon,
  leak_balloon,
  towards_target,
  update_balloon_size,
  update_balloon_size_func,
  virtballoon_changed,
  virtballoon_remove,
} from './drivers/virtio-balloon.js';
export { VmBalloon, VmwHypervisor, VMW_BALLOON_BATCH_MAX_PAGES, vmballoon_init, vmballoon_inflate, vmballoon_deflate, vmballoon_work } from './drivers/vmw-balloon.js';
export { Cmm, CMM_MIN_MEM_MB, cmm_init, cmm_get_mpp, cmm_alloc_pages, cmm_free_pages, cmmThreadIteration } from './drivers/cmm.js';
