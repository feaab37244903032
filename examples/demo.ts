/**
 * The main demo: boot a default machine (1 GiB, one node, two CPUs), allocate and free a few pages
 * and folios, and print what happened in kernel terms — the tracepoints as `/sys/kernel/tracing/trace`
 * shows them, /proc/buddyinfo before and after, and the /proc/vmstat counters that moved.
 *
 * Run: pnpm run demo
 */
import 'reflect-metadata';
import {
  GFP,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  MIGRATETYPE_NAMES,
  NR_ZONE,
  VM_EVENT,
  VM_EVENT_ITEMS,
  WMARK_HIGH,
  WMARK_LOW,
  WMARK_MIN,
  __alloc_pages,
  __folio_set_swapbacked,
  __free_pages,
  frag_show,
  createMachine,
  drain_all_pages,
  folio_add_lru,
  folio_alloc,
  folio_get,
  folio_put,
  gfpNames,
  lru_add_drain,
  type Folio,
  type Pfn,
} from '@mm/core';

const m = createMachine();
const hex = (n: number): string => `0x${n.toString(16)}`;
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

console.log('== boot ==');
for (const z of m.zones) {
  console.log(
    `Node ${z.nid}, zone ${z.name.padStart(8)}: pfns ${hex(z.zone_start_pfn)}-${hex(z.zone_end_pfn - 1)} present ${z.present_pages} managed ${z.managed_pages}` +
      ` min/low/high ${z.watermark[WMARK_MIN]}/${z.watermark[WMARK_LOW]}/${z.watermark[WMARK_HIGH]} pcp batch ${z.per_cpu_pageset[0]!.batch} high ${z.per_cpu_pageset[0]!.high}`,
  );
}
console.log(`vm.min_free_kbytes = ${m.minFreeKbytes}`);
console.log('/proc/buddyinfo:');
process.stdout.write(frag_show(m));
const eventsAtBoot = m.vmEvents.slice();

console.log('\n== trace (kmem tracepoints, as /sys/kernel/tracing/trace prints them) ==');
m.trace.on('mm_page_alloc', (e) =>
  console.log(`  mm_page_alloc: pfn=${hex(e.pfn)} order=${e.order} gfp_flags=${gfpNames(e.gfp_flags)} migratetype=${e.migratetype}`),
);
m.trace.on('mm_page_alloc_zone_locked', (e) => {
  if (!e.percpu_refill) console.log(`  mm_page_alloc_zone_locked: pfn=${hex(e.pfn)} order=${e.order} migratetype=${e.migratetype} percpu_refill=0`);
});
let refills = 0;
m.trace.on('mm_page_alloc_zone_locked', (e) => e.percpu_refill && refills++);
m.trace.on('mm_page_alloc_extfrag', (e) =>
  console.log(
    `  mm_page_alloc_extfrag: pfn=${hex(e.pfn)} alloc_order=${e.alloc_order} fallback_order=${e.fallback_order} ` +
      `alloc_migratetype=${MIGRATETYPE_NAMES[e.alloc_migratetype]} fallback_migratetype=${MIGRATETYPE_NAMES[e.fallback_migratetype]} change_ownership=${+e.change_ownership}`,
  ),
);
m.trace.on('mm_page_free', (e) => console.log(`  mm_page_free: pfn=${hex(e.pfn)} order=${e.order}`));
// Per-CPU drains come in batches; print one line per batch and order.
let drains: { pfn: number; order: number }[] = [];
let pending = false;
m.trace.on('mm_page_pcpu_drain', (e) => {
  drains.push({ pfn: e.pfn, order: e.order });
  if (!pending) {
    pending = true;
    queueMicrotask(flushDrains);
  }
});
function flushDrains(): void {
  pending = false;
  for (const order of new Set(drains.map((d) => d.order))) {
    const pfns = drains.filter((d) => d.order === order).map((d) => d.pfn);
    console.log(`  mm_page_pcpu_drain ×${pfns.length}: order=${order} pfn=${hex(Math.min(...pfns))}..${hex(Math.max(...pfns))} (per-CPU list → buddy lists)`);
  }
  drains = [];
}
m.trace.on('folio_freed', (e) => console.log(`  (model) __folio_put: folio ${hex(e.folio)} reached refcount 0 → ${e.owner} [${e.strategy}]`));

await tick();
console.log('\n1. alloc_pages(GFP_KERNEL, 0): an unmovable page; all blocks are movable at boot, so it falls back');
const page = __alloc_pages(m, GFP_KERNEL, 0) as Pfn;
console.log(`   → pfn ${hex(page)}, refcount ${m.memmap.refcount[page]}; the pcp list was refilled with ${refills} pages in one batch`);

await tick();
console.log('\n2. folio_alloc(GFP_HIGHUSER_MOVABLE, 9): a 2 MiB THP-sized compound folio');
const thp = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 9) as Folio;
console.log(`   → folio ${hex(thp)}, order ${m.memmap.flags[thp + 1]! & 0xff}, tail ${hex(thp + 1)} points at head: compound_head word ${hex(m.memmap.lru[thp + 1]!)}`);

await tick();
console.log('\n3. an anonymous folio goes on the LRU through the per-CPU lru_add batch');
const anon = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0) as Folio;
__folio_set_swapbacked(m, anon);
folio_add_lru(m, anon);
console.log(`   refcount ${m.memmap.refcount[anon]} (ours + the batch's); after lru_add_drain:`);
lru_add_drain(m);
console.log(`   refcount ${m.memmap.refcount[anon]}, PG_lru ${(m.memmap.flags[anon]! >> 5) & 1}`);

await tick();
console.log('\n4. folio_get + folio_put twice on the THP: the second put reaches 0 and frees it');
folio_get(m, thp);
folio_put(m, thp);
folio_put(m, thp);

await tick();
console.log('\n5. folio_put on the LRU folio: __folio_put takes it off the LRU and frees it to this CPU\'s pcp list');
folio_put(m, anon);

await tick();
console.log('\n6. __free_pages(page, 0), then drain_all_pages(): pcp pages go back to the buddy lists and merge');
__free_pages(m, page, 0);
drain_all_pages(m, null);

await tick();
console.log('\n== after ==');
console.log('/proc/buddyinfo:');
process.stdout.write(frag_show(m));
console.log('/proc/vmstat counters that moved:');
VM_EVENT_ITEMS.forEach((name, i) => {
  const d = m.vmEvents[i]! - eventsAtBoot[i]!;
  if (d !== 0) console.log(`  ${name} ${m.vmEvents[i]} (+${d})`);
});
console.log(`  nr_free_pages ${m.zones.reduce((s, z) => s + z.vmstat[NR_ZONE.nr_free_pages]!, 0)}`);
console.log(`\nbad pages: ${m.nrBadPages}; pgalloc_dma32 counts ${m.vmEvents[VM_EVENT.pgalloc_dma32]} pages; GFP_KERNEL = ${gfpNames(GFP_KERNEL)}; __GFP_COMP = ${hex(GFP.__GFP_COMP)}`);
