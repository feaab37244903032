/**
 * A VM host under memory pressure, on one 128 MiB machine: guest memory is a guest_memfd backed by
 * 2 MiB hugetlb pages, part of which the guest converts to shared and back; then the host fills
 * memory — anonymous pages, a balloon inflating, reclaim swapping pages out to a zsmalloc pool as zram
 * does — until the allocator stops at the watermark; a process exits, leaving holes; a 2 MiB
 * allocation compacts directly, and `echo 1 > /proc/sys/vm/compact_memory` migrates anonymous, balloon
 * and zsmalloc pages to rebuild free 2 MiB blocks. Each stage prints what the kernel would show
 * (/proc/meminfo lines, HugePages_*, /proc/buddyinfo, /proc/vmstat events). `debugVm: true` checks
 * every invariant after every operation (batches of thousands, once at the end of the batch).
 *
 * Run: TSX_TSCONFIG_PATH=tsconfig.test.json node --conditions=@mm/source --import tsx examples/vm-host.ts
 */
import 'reflect-metadata';
import {
  GFP_HIGHUSER_MOVABLE,
  GFP_TRANSHUGE,
  NR_NODE,
  NR_ZONE,
  NUMA_NO_NODE,
  PageZsmalloc,
  VM_EVENT,
  WMARK_LOW,
  WMARK_MIN,
  anon_vma_alloc,
  compact_memory,
  createMachine,
  drain_all_pages,
  faultInAnonFolio,
  folio_alloc,
  folio_put,
  frag_show,
  lru_add_drain_all,
  zapFolioPtes,
  type Folio,
  type Pfn,
} from '@mm/core';
import { hugetlbOf, hugetlbPlugin, hugetlb_report_meminfo, node_states_memory, set_max_huge_pages } from '@mm/hugetlb';
import {
  GUEST_MEMFD_FLAG_MMAP,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  guestMemfdPlugin,
  kvm_create_vm,
  kvm_gmem_create,
  kvm_gmem_get_pfn,
  kvm_gmem_mmap,
  kvm_gmem_set_attributes,
  pin_user_pages,
  unpin_user_page,
  type VmAreaStruct,
} from '@mm/guest-memfd';
import { guestMemfdHugetlbPlugin } from '@mm/guest-memfd/hugetlb';
import { balloonPlugin, balloon_devinfo_init, balloon_page_alloc, balloon_page_enqueue } from '@mm/balloon';
import { zs_create_pool, zs_get_total_pages, zs_malloc, zs_obj_read_begin, zs_obj_read_end, zs_obj_write, zsmallocPlugin } from '@mm/zsmalloc';

const PAGE = 4096;
const HPAGE = 2 << 20;
const m = createMachine({
  memory: '128M',
  debugVm: true,
  plugins: [hugetlbPlugin(), guestMemfdPlugin(), guestMemfdHugetlbPlugin(), balloonPlugin(), zsmallocPlugin()],
});
const hugetlb = hugetlbOf(m);
const dma32 = m.zones.find((z) => z.name === 'DMA32')!;
const sum = <T>(xs: readonly T[], f: (x: T) => number): number => xs.reduce((s, x) => s + f(x), 0);
const kB = (pages: number): string => `${pages * 4} kB`;
const nodeStat = (item: keyof typeof NR_NODE): number => sum(m.nodes, (n) => n.vmstat[NR_NODE[item]]!);
const zoneStat = (item: keyof typeof NR_ZONE): number => sum(m.zones, (z) => z.vmstat[NR_ZONE[item]]!);
const event = (item: keyof typeof VM_EVENT): number => m.vmEvents[VM_EVENT[item]]!;

/** /proc/meminfo lines, computed as the kernel computes them from the counters. */
function meminfo(): void {
  const huge = hugetlb_report_meminfo(hugetlb, null);
  console.log(
    `  MemTotal: ${kB(sum(m.zones, (z) => z.managed_pages))}  MemFree: ${kB(zoneStat('nr_free_pages'))}  AnonPages: ${kB(nodeStat('nr_anon_pages'))}` +
      `  Balloon: ${kB(nodeStat('nr_balloon_pages'))}  (vmstat nr_zspages ${zoneStat('nr_zspages')})`,
  );
  console.log(`  HugePages_Total: ${huge.HugePages_Total}  HugePages_Free: ${huge.HugePages_Free}  HugePages_Rsvd: ${huge.HugePages_Rsvd}  Hugetlb: ${huge.Hugetlb} kB`);
}

console.log('== 1. boot ==');
meminfo();

console.log('\n== 2. echo 16 > /proc/sys/vm/nr_hugepages ==');
set_max_huge_pages(m, hugetlb.default_hstate, 16, NUMA_NO_NODE, node_states_memory(m));
meminfo();

console.log('\n== 3. KVM_CREATE_GUEST_MEMFD, 8 MiB backed by hugetlb; the guest touches all of it ==');
const file = kvm_gmem_create(m, kvm_create_vm(m), 4 * HPAGE, GUEST_MEMFD_FLAG_MMAP, { backing: 'hugetlb' });
const folios = { split: 0, merge: 0 };
m.trace.on('kvm_gmem_huge_folio_split', () => folios.split++);
m.trace.on('kvm_gmem_huge_folio_merge', () => folios.merge++);
for (let index = 0; index < file.nrPages; index += HPAGE / PAGE) kvm_gmem_get_pfn(m, file, index); // a private fault
meminfo();

console.log('\n== 4. KVM_SET_MEMORY_ATTRIBUTES2: pages 16..19 private -> shared -> private ==');
const toShared = { offset: 16 * PAGE, size: 4 * PAGE, attributes: 0, flags: 0 };
const toPrivate = { ...toShared, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE };
const conversions = { done: 0, eagain: 0 };
function convert(what: string, attrs: typeof toShared): void {
  const rc = kvm_gmem_set_attributes(m, file, attrs);
  if (rc === 0) conversions.done++;
  else conversions.eagain++;
  console.log(`  ${what}: ${rc}; huge folio splits ${folios.split}, merges ${folios.merge}`);
}
convert('to shared', toShared); // the 2 MiB folio is split into 512 order-0 folios
const vma = kvm_gmem_mmap(m, file, 0, HPAGE / PAGE) as VmAreaStruct;
const pins: Pfn[] = [];
pin_user_pages(m, vma, 17, 1, 0, pins); // the host (say vhost) pins a shared page for DMA
convert('to private while the host pins page 17', toPrivate); // -EAGAIN: the pin is an extra reference
unpin_user_page(m, pins[0]!);
convert('to private after unpin_user_page', toPrivate); // the 512 pieces are merged back
meminfo();

console.log('\n== 5. pressure: per 8 steps, 6 anonymous pages stay mapped, 1 is swapped out to zram, 1 is ballooned ==');
// The balloon driver's migratepage would tell the hypervisor "newpage is ballooned now, page is not".
const balloon = balloon_devinfo_init(m, { name: 'vm-balloon', migratepage: () => 0 });
const zram = zs_create_pool(m, 'zram0');
const swapped: { handle: number; size: number; fill: number }[] = [];
const anonVma = anon_vma_alloc(m);
const anon: Folio[] = [];
let stoppedBy = '';
// Thousands of operations: check the invariants once, at the end of the batch (a full check after
// each one would take minutes).
m.withChecksDeferred('memory pressure', () => {
  for (let step = 0; !stoppedBy; step++) {
    if (step % 8 === 7) {
      const page = balloon_page_alloc(m);
      if (page === -1) stoppedBy = 'balloon_page_alloc';
      else balloon_page_enqueue(m, balloon, page);
      continue;
    }
    const folio = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0);
    if (folio === -1) {
      stoppedBy = 'folio_alloc';
      continue;
    }
    faultInAnonFolio(m, folio, anonVma, step);
    if (step % 8 !== 3) {
      anon.push(folio);
      continue;
    }
    // Reclaim swaps the page out: zram compresses it (to 1..3 KiB here) and stores it with zs_malloc.
    const size = 1024 + ((step * 37) % 2048);
    const handle = zs_malloc(m, zram, size);
    if (handle < 0) stoppedBy = 'zs_malloc';
    else {
      const fill = step & 0xff; // stands for the compressed bytes
      zs_obj_write(m, zram, handle, new Uint8Array(size).fill(fill), size);
      swapped.push({ handle, size, fill });
    }
    zapFolioPtes(m, folio); // unmapped: the last reference goes and the page is freed
  }
});
lru_add_drain_all(m);
drain_all_pages(m, null);
console.log(`  ${stoppedBy} failed with DMA32 at ${dma32.vmstat[NR_ZONE.nr_free_pages]} free pages (watermarks min ${dma32.watermark[WMARK_MIN]}, low ${dma32.watermark[WMARK_LOW]})`);
console.log(`  anonymous pages mapped ${anon.length}, balloon pages ${balloon.nrListed}, pages swapped out ${swapped.length}`);
console.log(`  zram0: ${swapped.length} pages stored in ${zs_get_total_pages(m, zram)} zsmalloc pages`);
meminfo();

console.log('\n== 6. a host process exits: every other anonymous page is unmapped ==');
m.withChecksDeferred('exit', () => anon.forEach((folio, i) => i % 2 === 0 && zapFolioPtes(m, folio)));
lru_add_drain_all(m);
drain_all_pages(m, null);
console.log('/proc/buddyinfo:');
process.stdout.write(frag_show(m));

console.log('\n== 7. folio_alloc(GFP_TRANSHUGE, 9): no free 2 MiB block, so the allocator compacts directly ==');
const thp = folio_alloc(m, GFP_TRANSHUGE, 9);
console.log(`  ${thp === -1 ? 'failed' : 'a 2 MiB folio'}; compact_stall ${event('compact_stall')} compact_success ${event('compact_success')} pgmigrate_success ${event('pgmigrate_success')}`);
if (thp !== -1) folio_put(m, thp);

console.log('\n== 8. echo 1 > /proc/sys/vm/compact_memory ==');
const zsPages = (): Set<number> => new Set(Array.from({ length: m.memmap.refcount.length }, (_, pfn) => pfn).filter((pfn) => PageZsmalloc(m, pfn as Pfn)));
const zsBefore = zsPages();
const migratedBefore = event('pgmigrate_success');
compact_memory(m);
drain_all_pages(m, null);
const zsAfter = zsPages();
const zsMoved = [...zsBefore].filter((pfn) => !zsAfter.has(pfn)).length;
console.log(`  pgmigrate_success +${event('pgmigrate_success') - migratedBefore}, of which balloon_migrate ${event('balloon_migrate')}, zsmalloc pages moved ${zsMoved}`);
console.log('/proc/buddyinfo:');
process.stdout.write(frag_show(m));
const intact = m.withChecksDeferred('swap-in', () =>
  swapped.filter(({ handle, size, fill }) => {
    const bytes = zs_obj_read_begin(m, zram, handle, size); // what swap-in would decompress
    const ok = bytes.subarray(0, size).every((b) => b === fill);
    zs_obj_read_end(m, zram, handle, size, bytes);
    return ok;
  }),
).length;
console.log(`  zram0: ${intact}/${swapped.length} swapped pages read back intact through their handles`);
meminfo();
m.checkInvariants('vm-host');
console.log(`\nconversions done ${conversions.done}, refused with -EAGAIN ${conversions.eagain}; bad pages ${m.nrBadPages}`);
