import { EAGAIN, EBUSY, EINVAL, MmError, PAGE_SIZE, PageListHeads, list_add, list_del, put_page, type Machine, type MigrateMode, type Pfn } from '@mm/core';
import { balloon_page_alloc } from '../mm/balloon-alloc.js';
import type { BalloonDevInfo } from '../mm/balloon-dev-info.js';
import { balloon_page_dequeue } from '../mm/balloon-dequeue.js';
import { balloon_page_enqueue } from '../mm/balloon-enqueue.js';
import { balloon_devinfo_init } from '../mm/balloon-state.js';

/**
 * A small model of the virtio balloon driver (`drivers/virtio/virtio_balloon.c`, 2026) and of the
 * host side it talks to. The host sets a target (`num_pages` in config space); the driver's work
 * item inflates or deflates towards it in batches of at most {@link VIRTIO_BALLOON_ARRAY_PFNS_MAX}
 * PFNs, one buffer on the inflate or deflate virtqueue per batch, and writes `actual` back. On
 * migration it tells the host about the new page (inflate) and the old one (deflate). Not modelled:
 * the stats, free-page-hint and free-page-reporting queues, the OOM notifier/shrinker,
 * VIRTIO_BALLOON_F_MUST_TELL_HOST ordering (the host here accepts both orders) and sleeping.
 *
 * @module
 */

/** `VIRTIO_BALLOON_PFN_SHIFT` (`include/uapi/linux/virtio_balloon.h`): the device counts 4 KiB frames. */
export const VIRTIO_BALLOON_PFN_SHIFT = 12;
/** `VIRTIO_BALLOON_PAGES_PER_PAGE`: balloon frames per guest page (1 with 4 KiB pages). */
export const VIRTIO_BALLOON_PAGES_PER_PAGE = PAGE_SIZE >>> VIRTIO_BALLOON_PFN_SHIFT;
/** `VIRTIO_BALLOON_ARRAY_PFNS_MAX`: PFNs per inflate/deflate buffer, hence per fill/leak call. */
export const VIRTIO_BALLOON_ARRAY_PFNS_MAX = 256;

/**
 * The host (hypervisor) side of one virtio balloon: config space and the set of guest frames it holds.
 * `num_pages` is the target it asks for; `actual` is what the guest reports. Protocol errors (a frame
 * inflated twice, a frame deflated that the host does not hold) are recorded in `errors`.
 */
export class VirtioBalloonHost {
  /** `virtio_balloon_config.num_pages`: how many 4 KiB frames the host wants in the balloon. */
  num_pages = 0;
  /** `virtio_balloon_config.actual`: how many the guest says it has given. */
  actual = 0;
  /** Balloon frame numbers the host holds (inflated by the guest and not deflated since). */
  readonly inflated = new Set<number>();
  /** Buffers received on the inflate virtqueue. */
  inflateBuffers = 0;
  /** Buffers received on the deflate virtqueue. */
  deflateBuffers = 0;
  /** Sizes (in PFNs) of the buffers received, in order. */
  readonly bufferSizes: number[] = [];
  /** Protocol errors seen. */
  readonly errors: string[] = [];

  /** One buffer of `n` frame numbers arrived on the inflate or deflate queue. */
  receive(queue: 'inflate' | 'deflate', pfns: Uint32Array, n: number): void {
    if (queue === 'inflate') this.inflateBuffers++;
    else this.deflateBuffers++;
    this.bufferSizes.push(n);
    for (let i = 0; i < n; i++) {
      const f = pfns[i]!;
      if (queue === 'inflate') {
        if (this.inflated.has(f)) this.errors.push(`frame ${f} inflated twice`);
        this.inflated.add(f);
      } else if (!this.inflated.delete(f)) {
        this.errors.push(`frame ${f} deflated but not inflated`);
      }
    }
  }
}

/** Features the device offers (`VIRTIO_BALLOON_F_*`) that change what the model does. */
export interface VirtioBalloonOptions {
  /** VIRTIO_BALLOON_F_DEFLATE_ON_OOM: inflated pages still count as managed memory. Default false. */
  readonly deflateOnOom?: boolean;
  /** The host to talk to; a new one by default. */
  readonly host?: VirtioBalloonHost;
}

/** `struct virtio_balloon`: the driver's state for one device. */
export class VirtioBalloon {
  /** `vb_dev_info`: the balloon device. */
  readonly vb_dev_info: BalloonDevInfo;
  /** The host. */
  readonly host: VirtioBalloonHost;
  /** VIRTIO_BALLOON_F_DEFLATE_ON_OOM negotiated. */
  readonly deflateOnOom: boolean;
  /** `num_pages`: frames the guest has told the host it is not using. */
  num_pages = 0;
  /**
   * `balloon_lock` (a mutex) is held, e.g. by a fill or leak running on another CPU. Fill and leak
   * take it; `virtballoon_migratepage` only tries it and returns `-EAGAIN` if it is held. Tests set it
   * to play the race.
   */
  balloon_lock = false;
  /** `num_pfns`: entries used in `pfns`. */
  num_pfns = 0;
  /** `pfns[VIRTIO_BALLOON_ARRAY_PFNS_MAX]`: the buffer sent to the host. */
  readonly pfns = new Uint32Array(VIRTIO_BALLOON_ARRAY_PFNS_MAX);

  /** Use {@link virtballoon_probe}. */
  constructor(m: Machine, options: VirtioBalloonOptions) {
    this.host = options.host ?? new VirtioBalloonHost();
    this.deflateOnOom = options.deflateOnOom ?? false;
    this.vb_dev_info = balloon_devinfo_init(m, {
      name: 'virtio_balloon',
      adjust_managed_page_count: !this.deflateOnOom,
      migratepage: (_b, newpage, page, mode) => virtballoon_migratepage(this, newpage, page, mode),
    });
  }
}

function assertVb(m: Machine, vb: VirtioBalloon, fn: string): void {
  if (!(vb instanceof VirtioBalloon) || vb.vb_dev_info.machine !== m) {
    throw new MmError(EINVAL, `${fn}: not a virtio balloon of this machine`, { rule: 'vb comes from virtballoon_probe(m)' });
  }
}

function takeLock(vb: VirtioBalloon, fn: string): void {
  if (vb.balloon_lock) {
    throw new MmError(EBUSY, `${fn}: balloon_lock is held and the model cannot sleep`, { rule: 'release balloon_lock before fill/leak' });
  }
}

/** `page_to_balloon_pfn(page)`: the page's first 4 KiB frame number. */
function page_to_balloon_pfn(page: Pfn): number {
  return page * VIRTIO_BALLOON_PAGES_PER_PAGE;
}

/** `set_page_pfns(vb, pfns + at, page)`: the frames of `page` into the buffer. */
function set_page_pfns(vb: VirtioBalloon, at: number, page: Pfn): void {
  for (let i = 0; i < VIRTIO_BALLOON_PAGES_PER_PAGE; i++) vb.pfns[at + i] = page_to_balloon_pfn(page) + i;
}

/** `tell_host(vb, vq)`: send `pfns[0..num_pfns)` on the inflate or deflate queue and wait for the ack. */
function tell_host(vb: VirtioBalloon, queue: 'inflate' | 'deflate'): void {
  vb.host.receive(queue, vb.pfns, vb.num_pfns);
}

/**
 * `virtballoon_probe(vdev)`: set up a virtio balloon on `m` with its device (`adjust_managed_page_count`
 * unless DEFLATE_ON_OOM; `migratepage` = the driver's). `MmError(ENODEV)` without `balloonPlugin()`.
 */
export function virtballoon_probe(m: Machine, options: VirtioBalloonOptions = {}): VirtioBalloon {
  return new VirtioBalloon(m, options);
}

/**
 * `fill_balloon(vb, num)`: inflate by up to `num` frames, at most one buffer's worth
 * ({@link VIRTIO_BALLOON_ARRAY_PFNS_MAX}): allocate with `balloon_page_alloc` (stopping early when the
 * allocator runs dry: "Out of puff!"), then under `balloon_lock` enqueue each page, record its frames
 * and tell the host on the inflate queue. Returns the number of frames inflated.
 */
export function fill_balloon(m: Machine, vb: VirtioBalloon, num: number): number {
  assertVb(m, vb, 'fill_balloon');
  if (!(Number.isInteger(num) && num >= 0)) throw new MmError(EINVAL, `fill_balloon: num ${num}`, { rule: 'a count of frames ≥ 0' });
  takeLock(vb, 'fill_balloon');
  num = Math.min(num, VIRTIO_BALLOON_ARRAY_PFNS_MAX);
  const pages = new PageListHeads(1);
  for (let n = 0; n < num; n += VIRTIO_BALLOON_PAGES_PER_PAGE) {
    const page = balloon_page_alloc(m);
    if (page === -1) break; // "Out of puff! Can't get %u pages" (the kernel then sleeps 200 ms)
    list_add(m.memmap.lru, m.memmap.lruPrev, pages, 0, page);
  }
  vb.balloon_lock = true;
  vb.num_pfns = 0;
  for (let page = pages.heads[0]!; page >= 0; page = pages.heads[0]!) {
    list_del(m.memmap.lru, m.memmap.lruPrev, pages, 0, page);
    balloon_page_enqueue(m, vb.vb_dev_info, page as Pfn);
    set_page_pfns(vb, vb.num_pfns, page as Pfn);
    vb.num_pages += VIRTIO_BALLOON_PAGES_PER_PAGE;
    vb.num_pfns += VIRTIO_BALLOON_PAGES_PER_PAGE;
  }
  const done = vb.num_pfns;
  if (done !== 0) tell_host(vb, 'inflate');
  vb.balloon_lock = false;
  return done;
}

/**
 * `leak_balloon(vb, num)`: deflate by up to `num` frames, at most one buffer's worth: dequeue pages
 * (stopping early when only isolated pages are left), tell the host on the deflate queue, then drop
 * the balloon's reference on each page (`release_pages_balloon`), which frees it. Returns the frames
 * deflated. `MmError(EINVAL)`, nothing changed, if `num` exceeds what the balloon holds (the kernel
 * would hit the "balloon pages lost" BUG).
 */
export function leak_balloon(m: Machine, vb: VirtioBalloon, num: number): number {
  assertVb(m, vb, 'leak_balloon');
  if (!(Number.isInteger(num) && num >= 0 && num <= vb.num_pages)) {
    throw new MmError(EINVAL, `leak_balloon: ${num} frames asked, ${vb.num_pages} inflated`, { rule: 'deflate at most what was inflated' });
  }
  takeLock(vb, 'leak_balloon');
  num = Math.min(num, VIRTIO_BALLOON_ARRAY_PFNS_MAX);
  const pages = new PageListHeads(1);
  vb.balloon_lock = true;
  for (vb.num_pfns = 0; vb.num_pfns < num; vb.num_pfns += VIRTIO_BALLOON_PAGES_PER_PAGE) {
    const page = balloon_page_dequeue(m, vb.vb_dev_info);
    if (page === -1) break;
    set_page_pfns(vb, vb.num_pfns, page);
    list_add(m.memmap.lru, m.memmap.lruPrev, pages, 0, page);
    vb.num_pages -= VIRTIO_BALLOON_PAGES_PER_PAGE;
  }
  const done = vb.num_pfns;
  if (done !== 0) tell_host(vb, 'deflate');
  // release_pages_balloon(): drop the balloon reference; the allocator clears PageOffline.
  for (let page = pages.heads[0]!; page >= 0; page = pages.heads[0]!) {
    list_del(m.memmap.lru, m.memmap.lruPrev, pages, 0, page);
    put_page(m, page as Pfn);
  }
  vb.balloon_lock = false;
  return done;
}

/** `towards_target(vb)`: the host's target minus what the guest has inflated, in frames. */
export function towards_target(vb: VirtioBalloon): number {
  return vb.host.num_pages - vb.num_pages;
}

/** `update_balloon_size(vb)`: write `num_pages` to the host's `actual`. */
export function update_balloon_size(vb: VirtioBalloon): void {
  vb.host.actual = vb.num_pages;
}

/**
 * `update_balloon_size_func(work)`: one run of the work item: fill or leak one batch towards the
 * target and report the size. Returns what is still to do (non-zero: the kernel requeues the work).
 */
export function update_balloon_size_func(m: Machine, vb: VirtioBalloon): number {
  assertVb(m, vb, 'update_balloon_size_func');
  const target = vb.host.num_pages;
  if (!(Number.isInteger(target) && target >= 0 && target <= 0xffffffff)) {
    throw new MmError(EINVAL, `virtio balloon: host target ${target}`, { rule: 'num_pages is a u32' });
  }
  let diff = towards_target(vb);
  if (diff > 0) diff -= fill_balloon(m, vb, diff);
  else if (diff < 0) diff += leak_balloon(m, vb, -diff);
  update_balloon_size(vb);
  return diff;
}

/**
 * `virtballoon_changed(vdev)`: the host changed its target; run the work item until the balloon
 * reaches it. Where the kernel would requeue forever (out of memory to inflate, or only isolated
 * pages left to deflate), the model stops after a run that made no progress. Returns the frames still
 * missing (positive) or still to give back (negative).
 */
export function virtballoon_changed(m: Machine, vb: VirtioBalloon): number {
  for (;;) {
    const before = vb.num_pages;
    const diff = update_balloon_size_func(m, vb);
    if (diff === 0 || vb.num_pages === before) return diff;
  }
}

/**
 * `virtballoon_remove(vdev)`: give every page back (`leak_balloon` until empty) and report 0 to the
 * host. `MmError(EBUSY)`, nothing changed, while pages are isolated for migration (the kernel would
 * spin until migration puts them back).
 */
export function virtballoon_remove(m: Machine, vb: VirtioBalloon): void {
  assertVb(m, vb, 'virtballoon_remove');
  if (vb.vb_dev_info.isolated_pages !== 0) {
    throw new MmError(EBUSY, `virtballoon_remove: ${vb.vb_dev_info.isolated_pages} pages isolated for migration`, { rule: 'finish or put back migration first' });
  }
  while (vb.num_pages > 0) leak_balloon(m, vb, vb.num_pages);
  update_balloon_size(vb);
}

/**
 * `virtballoon_migratepage(vb_dev_info, newpage, page, mode)`: `-EAGAIN` if `balloon_lock` is held
 * (a fill or leak is running: retry later); else tell the host to inflate `newpage`, then to deflate
 * `page`, and return 0. The core does the balloon bookkeeping.
 */
function virtballoon_migratepage(vb: VirtioBalloon, newpage: Pfn, page: Pfn, _mode: MigrateMode): number {
  if (vb.balloon_lock) return -EAGAIN;
  vb.balloon_lock = true;
  vb.num_pfns = VIRTIO_BALLOON_PAGES_PER_PAGE;
  set_page_pfns(vb, 0, newpage);
  tell_host(vb, 'inflate');
  vb.num_pfns = VIRTIO_BALLOON_PAGES_PER_PAGE;
  set_page_pfns(vb, 0, page);
  tell_host(vb, 'deflate');
  vb.balloon_lock = false;
  return 0;
}
