import {
  EAGAIN,
  EBUSY,
  EINVAL,
  GFP_HIGHUSER_MOVABLE,
  ISOLATE,
  VM_EVENT,
  alloc_page,
  isolate_movable_ops_page,
  putback_movable_ops_page,
  type Machine,
  type Pfn,
  catchMmError,
} from '@mm/core';
import { describe, expect, it } from 'vitest';
import {
  CMM_MIN_MEM_MB,
  VIRTIO_BALLOON_ARRAY_PFNS_MAX,
  VIRTIO_BALLOON_PAGES_PER_PAGE,
  VMW_BALLOON_BATCH_MAX_PAGES,
  cmmThreadIteration,
  cmm_free_pages,
  cmm_init,
  leak_balloon,
  virtballoon_changed,
  virtballoon_probe,
  virtballoon_remove,
  vmballoon_deflate,
  vmballoon_init,
  vmballoon_work,
  type BalloonDevInfo,
} from '../src/index.js';
import { STRATEGIES, balloonStat, boot, expectUnchanged, freePages, listPfns, managedPages, migrateOne, snapshot } from './helpers.js';

const MODE = ISOLATE.ISOLATE_UNEVICTABLE;

/** Batched drivers move hundreds of pages: check invariants at each step rather than after every page. */
function bigMachine(strategy: (typeof STRATEGIES)[number]): Machine {
  return boot({ strategy, memory: '16M', debugVm: false });
}

function expectMmError(fn: () => unknown, errno: number, text: RegExp): void {
  const err = catchMmError(fn);
  expect(err.errno).toBe(errno);
  expect(err.message).toMatch(text);
}

/** The device's inflated PFNs (listed and isolated are the same thing for a host). */
function inflatedPfns(m: Machine, b: BalloonDevInfo): Set<number> {
  return new Set(listPfns(m, b.pages));
}

describe.each(STRATEGIES)('virtio-balloon (%s)', (strategy) => {
  it('follows the host target in batches of VIRTIO_BALLOON_ARRAY_PFNS_MAX and gives everything back on remove', () => {
    const m = bigMachine(strategy);
    const free0 = freePages(m);
    const managed0 = managedPages(m);
    const vb = virtballoon_probe(m);
    expect(VIRTIO_BALLOON_PAGES_PER_PAGE).toBe(1); // 4 KiB guest pages, 4 KiB balloon frames
    vb.host.num_pages = 600;
    expect(virtballoon_changed(m, vb)).toBe(0);
    m.checkInvariants('inflate');
    expect(vb.num_pages).toBe(600);
    expect(vb.host.actual).toBe(600);
    expect(vb.host.bufferSizes).toEqual([256, 256, 88]); // 600 = 2 × 256 + 88
    expect(vb.host.inflated).toEqual(inflatedPfns(m, vb.vb_dev_info));
    expect(m.vmEvents[VM_EVENT.balloon_inflate]).toBe(600);
    expect(balloonStat(m)).toBe(600);
    expect(managedPages(m)).toBe(managed0 - 600); // no DEFLATE_ON_OOM: inflated memory leaves the zones

    vb.host.num_pages = 100;
    expect(virtballoon_changed(m, vb)).toBe(0);
    m.checkInvariants('deflate');
    expect(vb.host.bufferSizes.slice(3)).toEqual([256, 244]);
    expect(vb.host.deflateBuffers).toBe(2);
    expect(vb.host.inflated).toEqual(inflatedPfns(m, vb.vb_dev_info));
    expect(vb.host.actual).toBe(100);
    expect(freePages(m)).toBe(free0 - 100);

    virtballoon_remove(m, vb);
    m.checkInvariants('remove');
    expect(vb.host.inflated.size).toBe(0);
    expect(vb.host.errors).toEqual([]);
    expect(freePages(m)).toBe(free0);
    expect(managedPages(m)).toBe(managed0);
    expect(m.vmEvents[VM_EVENT.balloon_deflate]).toBe(600);
    expect(m.nrBadPages).toBe(0);
  });

  it('with DEFLATE_ON_OOM inflated pages stay managed', () => {
    const m = bigMachine(strategy);
    const managed0 = managedPages(m);
    const vb = virtballoon_probe(m, { deflateOnOom: true });
    vb.host.num_pages = 10;
    virtballoon_changed(m, vb);
    expect(vb.num_pages).toBe(10);
    expect(managedPages(m)).toBe(managed0);
  });

  it('runs out of puff when memory runs out and reports what it got', () => {
    const m = bigMachine(strategy);
    const vb = virtballoon_probe(m);
    vb.host.num_pages = 8192; // twice the machine
    const missing = virtballoon_changed(m, vb);
    m.checkInvariants('out of puff');
    expect(missing).toBeGreaterThan(0);
    expect(vb.num_pages + missing).toBe(8192);
    expect(vb.host.actual).toBe(vb.num_pages);
    expect(alloc_page(m, GFP_HIGHUSER_MOVABLE)).toBe(-1); // the balloon stopped at the watermark
  });

  it('tells the host about migrated pages; a held balloon_lock makes migration retry', () => {
    const m = boot({ strategy, memory: '16M' });
    const vb = virtballoon_probe(m);
    vb.host.num_pages = 4;
    virtballoon_changed(m, vb);
    const src = listPfns(m, vb.vb_dev_info.pages)[2]! as Pfn;
    expect(isolate_movable_ops_page(m, src, MODE)).toBe(true);
    const buffers = vb.host.bufferSizes.length;
    vb.balloon_lock = true; // a fill or leak is running
    expect(migrateOne(m, src).rc).toBe(-EAGAIN);
    expect(vb.host.bufferSizes.length).toBe(buffers);
    vb.balloon_lock = false;
    const { rc, dst } = migrateOne(m, src);
    expect(rc).toBe(0);
    expect(vb.host.bufferSizes.slice(buffers)).toEqual([1, 1]); // inflate newpage, then deflate page
    expect(vb.host.inflated.has(dst)).toBe(true);
    expect(vb.host.inflated.has(src)).toBe(false);
    expect(vb.host.inflated).toEqual(inflatedPfns(m, vb.vb_dev_info));
    expect(vb.num_pages).toBe(4);
    expect(m.vmEvents[VM_EVENT.balloon_migrate]).toBe(1);
  });

  it('rejects deflating more than inflated, a bad host target, and removal while a page is isolated', () => {
    const m = boot({ strategy, memory: '16M' });
    const vb = virtballoon_probe(m);
    vb.host.num_pages = 3;
    virtballoon_changed(m, vb);
    const p = listPfns(m, vb.vb_dev_info.pages)[0]! as Pfn;
    expect(isolate_movable_ops_page(m, p, MODE)).toBe(true);
    const before = snapshot(m, [vb.vb_dev_info]);
    const host = JSON.stringify([...vb.host.inflated, vb.host.actual, vb.num_pages]);
    expectMmError(() => leak_balloon(m, vb, 4), EINVAL, /4 frames asked, 3 inflated/);
    expectMmError(() => virtballoon_remove(m, vb), EBUSY, /isolated for migration/);
    vb.host.num_pages = -1;
    expectMmError(() => virtballoon_changed(m, vb), EINVAL, /host target -1/);
    vb.host.num_pages = 3;
    vb.balloon_lock = true;
    expectMmError(() => leak_balloon(m, vb, 1), EBUSY, /cannot sleep/);
    vb.balloon_lock = false;
    expectUnchanged(m, [vb.vb_dev_info], before);
    expect(JSON.stringify([...vb.host.inflated, vb.host.actual, vb.num_pages])).toBe(host);
    // Deflating to 0 while one page is isolated stops short instead of hitting the kernel's BUG.
    vb.host.num_pages = 0;
    expect(virtballoon_changed(m, vb)).toBe(-1);
    putback_movable_ops_page(m, p);
    expect(virtballoon_changed(m, vb)).toBe(0);
    expect(vb.host.inflated.size).toBe(0);
  });
});

describe.each(STRATEGIES)('VMware balloon (%s)', (strategy) => {
  it('inflates and deflates in batches of VMW_BALLOON_BATCH_MAX_PAGES, without adjusting managed pages', () => {
    const m = bigMachine(strategy);
    const free0 = freePages(m);
    const managed0 = managedPages(m);
    const b = vmballoon_init(m);
    b.hv.target = 1000;
    vmballoon_work(m, b);
    m.checkInvariants('vmw inflate');
    expect(VMW_BALLOON_BATCH_MAX_PAGES).toBe(512);
    expect(b.size).toBe(1000);
    expect(b.hv.locked).toEqual(inflatedPfns(m, b.b_dev_info));
    expect(managedPages(m)).toBe(managed0);
    b.hv.target = 0;
    vmballoon_work(m, b);
    m.checkInvariants('vmw deflate');
    expect(b.size).toBe(0);
    expect(b.hv.locked.size).toBe(0);
    expect(freePages(m)).toBe(free0);
  });

  it('puts pages the hypervisor will not give back into the balloon again and stops', () => {
    const m = boot({ strategy, memory: '16M' });
    const b = vmballoon_init(m);
    b.hv.target = 6;
    vmballoon_work(m, b);
    const stuck = listPfns(m, b.b_dev_info.pages)[2]!;
    b.hv.refuseUnlock.add(stuck);
    b.hv.target = 0;
    vmballoon_work(m, b);
    // The first batch took all 6; 5 were unlocked and freed, the refused one was enqueued again.
    expect(b.size).toBe(1);
    expect(listPfns(m, b.b_dev_info.pages)).toEqual([stuck]);
    expect(m.vmEvents[VM_EVENT.balloon_inflate]).toBe(7);
    expect(m.vmEvents[VM_EVENT.balloon_deflate]).toBe(6);
    expect(balloonStat(m)).toBe(1);
  });

  it('migration: refused (-EBUSY), retried (-EAGAIN), deflated without inflating (-ENOENT), or done', () => {
    const m = boot({ strategy, memory: '16M' });
    const b = vmballoon_init(m);
    b.hv.target = 3;
    vmballoon_work(m, b);
    const [p1, p2] = listPfns(m, b.b_dev_info.pages) as Pfn[];
    // The hypervisor will not unlock p1: the driver refuses, the page stays isolated, then goes back.
    b.hv.refuseUnlock.add(p1!);
    expect(isolate_movable_ops_page(m, p1!, MODE)).toBe(true);
    expect(migrateOne(m, p1!).rc).toBe(-EBUSY);
    expect(b.b_dev_info.isolated_pages).toBe(1);
    putback_movable_ops_page(m, p1!);
    // A reset holds conf_sem: retry later.
    expect(isolate_movable_ops_page(m, p2!, MODE)).toBe(true);
    b.conf_sem_write_locked = true;
    expect(migrateOne(m, p2!).rc).toBe(-EAGAIN);
    b.conf_sem_write_locked = false;
    // The hypervisor will not take the new page: p2 is deflated, the balloon shrinks by one.
    const dst = alloc_page(m, GFP_HIGHUSER_MOVABLE) as Pfn;
    b.hv.refuseLock.add(dst);
    expect(migrateOne(m, p2!, dst).rc).toBe(0);
    expect(b.size).toBe(2);
    expect(b.b_dev_info.nrInflated).toBe(2);
    expect(b.hv.locked.has(p2!)).toBe(false);
    expect(b.hv.locked.has(dst)).toBe(false);
    expect(m.memmap.refcount[dst]).toBe(0);
    expect(m.vmEvents[VM_EVENT.balloon_deflate]).toBe(1);
    expect(m.vmEvents[VM_EVENT.balloon_migrate]).toBe(0);
    expect(balloonStat(m)).toBe(3); // -ENOENT does not touch NR_BALLOON_PAGES (§7.3)
    // An ordinary migration (the freed target may be handed out again: stop refusing it).
    b.hv.refuseLock.clear();
    const p3 = listPfns(m, b.b_dev_info.pages).find((p) => p !== p1)! as Pfn;
    expect(isolate_movable_ops_page(m, p3, MODE)).toBe(true);
    const done = migrateOne(m, p3);
    expect(done.rc).toBe(0);
    expect(b.hv.locked).toEqual(inflatedPfns(m, b.b_dev_info));
    expect(m.vmEvents[VM_EVENT.balloon_migrate]).toBe(1);
  });

  it('rejects deflating more than inflated', () => {
    const m = boot({ strategy, memory: '16M' });
    const b = vmballoon_init(m);
    b.hv.target = 2;
    vmballoon_work(m, b);
    const before = snapshot(m, [b.b_dev_info]);
    expectMmError(() => vmballoon_deflate(m, b, 3), EINVAL, /3 pages asked, 2 inflated/);
    expectUnchanged(m, [b.b_dev_info], before);
    expect(b.size).toBe(2);
  });
});

describe.each(STRATEGIES)('pseries CMM in simulation mode (%s)', (strategy) => {
  it('loans simulate_loan_target_kb, adjusting managed pages, and frees when the target drops', () => {
    const m = bigMachine(strategy);
    const managed0 = managedPages(m);
    const cmm = cmm_init(m, { min_mem_mb: 0 });
    cmm.simulate_loan_target_kb = 2048; // 512 pages
    cmmThreadIteration(m, cmm);
    m.checkInvariants('cmm loan');
    expect(cmm.loaned_pages).toBe(512);
    expect(managedPages(m)).toBe(managed0 - 512);
    cmm.simulate_loan_target_kb = 400; // 100 pages
    cmmThreadIteration(m, cmm);
    m.checkInvariants('cmm free');
    expect(cmm.loaned_pages).toBe(100);
    expect(cmm.b_dev_info.nrListed).toBe(100);
    expect(managedPages(m)).toBe(managed0 - 100);
  });

  it('never loans below min_mem_mb (default CMM_MIN_MEM_MB = 256: nothing on a 16 MiB machine)', () => {
    const m = bigMachine(strategy);
    const small = cmm_init(m);
    expect(small.min_mem_mb).toBe(CMM_MIN_MEM_MB);
    small.simulate_loan_target_kb = 4096;
    cmmThreadIteration(m, small);
    expect(small.loaned_pages).toBe(0);
    const total = managedPages(m);
    const cmm = cmm_init(m, { min_mem_mb: 8 });
    cmm.simulate_loan_target_kb = 16 * 1024; // all of it
    cmmThreadIteration(m, cmm);
    // target = total − min_mem_pages: 8 MiB = 2048 pages stay active (cmm_get_mpp).
    expect(cmm.loaned_pages_target).toBe(total - 2048);
    expect(cmm.loaned_pages).toBeLessThanOrEqual(total - 2048);
  });

  it('always migrates in simulation and rejects freeing more than loaned', () => {
    const m = boot({ strategy, memory: '16M' });
    const cmm = cmm_init(m, { min_mem_mb: 0 });
    cmm.simulate_loan_target_kb = 12;
    cmmThreadIteration(m, cmm);
    const [p] = listPfns(m, cmm.b_dev_info.pages) as Pfn[];
    expect(isolate_movable_ops_page(m, p!, MODE)).toBe(true);
    expect(migrateOne(m, p!).rc).toBe(0);
    const before = snapshot(m, [cmm.b_dev_info]);
    expectMmError(() => cmm_free_pages(m, cmm, 4), EINVAL, /4 pages asked, 3 loaned/);
    expectUnchanged(m, [cmm.b_dev_info], before);
  });
});

describe('both __folio_put strategies give the same observable result', () => {
  it('for a mixed scenario with three drivers and migrations', () => {
    const run = (strategy: (typeof STRATEGIES)[number]) => {
      const m = boot({ strategy, memory: '16M' });
      const vb = virtballoon_probe(m);
      const vmw = vmballoon_init(m);
      const cmm = cmm_init(m, { min_mem_mb: 0 });
      vb.host.num_pages = 5;
      virtballoon_changed(m, vb);
      vmw.hv.target = 4;
      vmballoon_work(m, vmw);
      cmm.simulate_loan_target_kb = 12;
      cmmThreadIteration(m, cmm);
      for (const b of [vb.vb_dev_info, vmw.b_dev_info, cmm.b_dev_info]) {
        const p = listPfns(m, b.pages)[1]! as Pfn;
        expect(isolate_movable_ops_page(m, p, MODE)).toBe(true);
        migrateOne(m, p);
      }
      const p = listPfns(m, vmw.b_dev_info.pages)[0]! as Pfn;
      expect(isolate_movable_ops_page(m, p, MODE)).toBe(true);
      const dst = alloc_page(m, GFP_HIGHUSER_MOVABLE) as Pfn;
      vmw.hv.refuseLock.add(dst);
      migrateOne(m, p, dst);
      vb.host.num_pages = 1;
      virtballoon_changed(m, vb);
      vmw.hv.target = 0;
      vmballoon_work(m, vmw);
      return { events: Array.from(m.vmEvents), free: freePages(m), stat: balloonStat(m), managed: managedPages(m), bad: m.nrBadPages };
    };
    const a = run('owner-ops');
    expect(a.events[VM_EVENT.balloon_migrate]).toBe(3);
    expect(a.events[VM_EVENT.balloon_deflate]).toBe(4 + 3 + 1); // virtio 5→1, vmw 3→0 after the -ENOENT deflation
    expect(run('mainline')).toEqual(a);
  });
});
