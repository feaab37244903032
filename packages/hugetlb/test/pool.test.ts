import { describe, expect, it } from 'vitest';
import { EINVAL, ENOENT, ERANGE, ProcfsContributor, VM_EVENT, createMachine, type ProcfsContributor as Contributor } from '@mm/core';
import {
  FAULT_FLAG_WRITE,
  HUGETLB_PUD_ORDER,
  hugetlb_fault,
  hugetlbfs_create,
  hugetlbfs_file_mmap,
  hugetlbfs_mount,
  hugetlbfs_setattr,
  hugetlbNewMm,
  hugetlbOf,
  hugetlbPlugin,
  hugetlbSysfsRead,
  hugetlbSysfsWrite,
  parseHugetlbParams,
  type HugetlbfsSbInfo,
  type VmAreaStruct,
} from '@mm/hugetlb';
import { MB2, STRATEGIES, boot, counts, expectUnchanged } from './helpers.js';

const SYS = 'sys/kernel/mm/hugepages/hugepages-2048kB';

describe('boot parameters (hugepagesz=, hugepages=, default_hugepagesz=)', () => {
  it('parse in order with the kernel rules', () => {
    const p = parseHugetlbParams({ cmdline: 'hugepagesz=1G hugepages=2 hugepagesz=2M hugepages=0:3,1:2 default_hugepagesz=1G' }, 2);
    // hstates: the command line's first, then none left to add (1 GiB and 2 MiB both named).
    expect(p.orders).toEqual([HUGETLB_PUD_ORDER, 9]);
    expect(p.defaultOrder).toBe(HUGETLB_PUD_ORDER);
    expect(p.pools.get(HUGETLB_PUD_ORDER)).toEqual({ total: 2, perNode: null });
    expect(p.pools.get(9)).toEqual({ total: 5, perNode: [3, 2] });
    expect(p.warnings).toEqual([]);
  });

  it('ignore what the kernel ignores, with its warnings', () => {
    // hugepagesz=4M is unsupported on x86-64, so the hugepages= after it is ignored; a lone
    // hugepages= first applies to the default size (2 MiB, added by hugetlb_init).
    const p = parseHugetlbParams({ cmdline: 'hugepages=7 hugepagesz=4M hugepages=3 hugepagesz=2M hugepages=0:1,9:1' }, 2);
    expect(p.warnings).toEqual([
      'HugeTLB: unsupported hugepagesz=4M',
      'HugeTLB: hugepages=3 does not follow a valid hugepagesz, ignoring',
      'HugeTLB: Invalid hugepages parameter 0:1,9:1',
    ]);
    // The explicit 2 MiB hugepages= was invalid (cleared); the implicit default one still applies.
    expect(p.pools.get(9)).toEqual({ total: 7, perNode: null });
    expect(p.orders).toEqual([9, HUGETLB_PUD_ORDER]);
  });

  it('allocate the boot pools, per node when asked, and pluginOptions work too', () => {
    const m = createMachine({ memory: '128M', nodes: 2, debugVm: true, plugins: [hugetlbPlugin()], pluginOptions: { hugetlb: { pools: { '2M': '0:3,1:2' } } } });
    const h = hugetlbOf(m).default_hstate;
    expect(counts(h)).toEqual({ nr: 5, free: 5, resv: 0, surplus: 0, max: 5 });
    expect([...h.nr_huge_pages_node]).toEqual([3, 2]);
    expect([...h.max_huge_pages_node]).toEqual([3, 2]);
    // Five order-9 buddy allocations succeeded.
    expect(m.vmEvents[VM_EVENT.htlb_buddy_alloc_success]).toBe(5);
  });

  it('cut max_huge_pages to what boot could allocate', () => {
    // 64 MiB of RAM cannot hold 64 huge pages of 2 MiB: the pool stops at the first failure.
    const m = createMachine({ memory: '64M', debugVm: true, plugins: [hugetlbPlugin({ cmdline: 'hugepages=64' })] });
    const h = hugetlbOf(m).default_hstate;
    expect(h.nr_huge_pages).toBeLessThan(32);
    expect(h.max_huge_pages).toBe(h.nr_huge_pages);
    expect(m.vmEvents[VM_EVENT.htlb_buddy_alloc_fail]).toBe(1);
  });
});

describe.each(STRATEGIES)('pool sysfs and meminfo (%s)', (strategy) => {
  it('show the counters as the kernel prints them', () => {
    const { m, pool } = boot(strategy, { cmdline: 'hugepages=6' });
    const procfs = m.container.resolveAll<Contributor>(ProcfsContributor).find((c) => c.name === 'hugetlb')!;
    expect(procfs.meminfo!(m, null)).toEqual({
      HugePages_Total: 6,
      HugePages_Free: 6,
      HugePages_Rsvd: 0,
      HugePages_Surp: 0,
      Hugepagesize: 2048,
      Hugetlb: 6 * 2048, // Σ nr × size in kB over every hstate (the 1 GiB pool is empty)
    });
    expect(procfs.meminfo!(m, 0)).toEqual({ HugePages_Total: 6, HugePages_Free: 6, HugePages_Surp: 0 });
    const files = procfs.files!(m);
    expect(files[`${SYS}/nr_hugepages`]).toBe('6\n');
    expect(files[`${SYS}/free_hugepages`]).toBe('6\n');
    expect(files['sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages']).toBe('6\n');
    expect(files['sys/kernel/mm/hugepages/hugepages-1048576kB/demote_size']).toBe('2048kB\n');
    expect(files[`${SYS}/demote_size`]).toBeUndefined(); // 2 MiB has no smaller size to demote to
    expect(files['proc/sys/vm/nr_hugepages']).toBe('6\n');
    expect(hugetlbSysfsRead(pool, `${SYS}/demote`)).toBeNull();
  });

  it('grow and shrink through nr_hugepages, globally and per node', () => {
    const { m, pool, h } = boot(strategy, {}, { nodes: 2, memory: '128M' });
    expect(hugetlbSysfsWrite(pool, `${SYS}/nr_hugepages`, '8\n')).toBe(2);
    expect(counts(h)).toEqual({ nr: 8, free: 8, resv: 0, surplus: 0, max: 8 });
    expect([...h.nr_huge_pages_node]).toEqual([4, 4]); // round robin over the nodes
    expect(m.vmEvents[VM_EVENT.htlb_buddy_alloc_success]).toBe(8);
    // A node write turns into a global target: 8 − 4 + 1 = 5, freed on node 1 only.
    expect(hugetlbSysfsWrite(pool, 'sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages', '1')).toBe(1);
    expect([...h.nr_huge_pages_node]).toEqual([4, 1]);
    expect(counts(h)).toEqual({ nr: 5, free: 5, resv: 0, surplus: 0, max: 5 });
    expect(hugetlbSysfsWrite(pool, 'proc/sys/vm/nr_hugepages', '0\n')).toBe(2);
    expect(counts(h)).toEqual({ nr: 0, free: 0, resv: 0, surplus: 0, max: 0 });
  });

  it('reject bad writes with the kernel errno and change nothing', () => {
    const { m, pool } = boot(strategy, { cmdline: 'hugepages=3' });
    for (const [buf, err] of [
      ['-1', -EINVAL],
      ['abc', -EINVAL],
      ['', -EINVAL],
      ['1x', -EINVAL],
      [' 2', -EINVAL],
      ['18446744073709551616', -ERANGE], // ULONG_MAX + 1
    ] as const) {
      expectUnchanged(m, () => expect(hugetlbSysfsWrite(pool, `${SYS}/nr_hugepages`, buf)).toBe(err));
    }
    expectUnchanged(m, () => expect(hugetlbSysfsWrite(pool, 'proc/sys/vm/nr_hugepages', '-1')).toBe(-EINVAL));
    // v6.14: no overcommit for gigantic sizes.
    expectUnchanged(m, () => expect(hugetlbSysfsWrite(pool, 'sys/kernel/mm/hugepages/hugepages-1048576kB/nr_overcommit_hugepages', '1')).toBe(-EINVAL));
    expectUnchanged(m, () => expect(hugetlbSysfsWrite(pool, `${SYS}/free_hugepages`, '1')).toBe(-EINVAL));
    expectUnchanged(m, () => expect(hugetlbSysfsWrite(pool, `${SYS}/demote`, '1')).toBe(-ENOENT));
    expectUnchanged(m, () => expect(hugetlbSysfsWrite(pool, 'sys/kernel/mm/hugepages/hugepages-4096kB/nr_hugepages', '1')).toBe(-ENOENT));
    expect(hugetlbSysfsWrite(pool, `${SYS}/nr_overcommit_hugepages`, '+4\n')).toBe(3);
    expect(pool.default_hstate.nr_overcommit_huge_pages).toBe(4);
  });
});

describe.each(STRATEGIES)('surplus pages and pool shrinking (%s)', (strategy) => {
  it('grow the pool with surplus pages for a reservation and give them back', () => {
    const { m, pool, h } = boot(strategy, { cmdline: 'hugepages=2' });
    hugetlbSysfsWrite(pool, `${SYS}/nr_overcommit_hugepages`, '4');
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'f');
    const mm = hugetlbNewMm(m);
    // Reserving 5 with 2 free: gather_surplus_pages allocates 3 surplus folios into the pool.
    expect(hugetlbfs_file_mmap(m, mm, file, { length: 5 * MB2, shared: true })).not.toBeTypeOf('number');
    expect(counts(h)).toEqual({ nr: 5, free: 5, resv: 5, surplus: 3, max: 2 });
    expect(m.vmEvents[VM_EVENT.htlb_buddy_alloc_success]).toBe(5);
    // Raising the target to 4 first turns 2 surplus folios persistent; nothing is allocated.
    hugetlbSysfsWrite(pool, `${SYS}/nr_hugepages`, '4');
    expect(counts(h)).toEqual({ nr: 5, free: 5, resv: 5, surplus: 1, max: 4 });
    expect(m.vmEvents[VM_EVENT.htlb_buddy_alloc_success]).toBe(5);
    // Truncating the file releases the 5 reservations; one surplus free folio goes to the buddy.
    expect(hugetlbfs_setattr(m, file, 0)).toBe(0);
    expect(counts(h)).toEqual({ nr: 4, free: 4, resv: 0, surplus: 0, max: 4 });
  });

  it('a reservation beyond free + overcommit fails with -ENOMEM and nothing changes', () => {
    const { m, h } = boot(strategy, { cmdline: 'hugepages=2' });
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'f');
    const mm = hugetlbNewMm(m);
    expectUnchanged(m, () => expect(hugetlbfs_file_mmap(m, mm, file, { length: 3 * MB2, shared: true })).toBe(-12));
    expect(counts(h)).toEqual({ nr: 2, free: 2, resv: 0, surplus: 0, max: 2 });
  });

  it('shrink below the reservations: in-use and reserved folios become surplus', () => {
    const { m, pool, h } = boot(strategy, { cmdline: 'hugepages=10' });
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'f');
    const mm = hugetlbNewMm(m);
    const vma = hugetlbfs_file_mmap(m, mm, file, { length: 6 * MB2, shared: true }) as VmAreaStruct;
    for (let i = 0; i < 2; i++) expect(hugetlb_fault(m, vma, vma.vm_start + i * MB2, FAULT_FLAG_WRITE)).toBe(0);
    expect(counts(h)).toEqual({ nr: 10, free: 8, resv: 4, surplus: 0, max: 10 });
    // min_count = max(0, resv 4 + nr 10 − free 8) = 6: four free folios go, the other six
    // (2 in use, 4 reserved) become surplus; max_huge_pages = persistent = 0.
    expect(hugetlbSysfsWrite(pool, `${SYS}/nr_hugepages`, '0')).toBe(1);
    expect(counts(h)).toEqual({ nr: 6, free: 4, resv: 4, surplus: 6, max: 0 });
    expect(h.max_huge_pages).toBe(h.nr_huge_pages - h.surplus_huge_pages);
    expect(hugetlbSysfsRead(pool, `${SYS}/nr_hugepages`)).toBe('6\n');
    expect(hugetlbSysfsRead(pool, 'proc/sys/vm/nr_hugepages')).toBe('0\n'); // the sysctl shows max_huge_pages
    expect(hugetlbSysfsRead(pool, `${SYS}/surplus_hugepages`)).toBe('6\n');
    // Truncation frees the 2 faulted folios (surplus → buddy) and returns 4 reservations, which
    // frees the 4 surplus free folios.
    hugetlbfs_setattr(m, file, 0);
    expect(counts(h)).toEqual({ nr: 0, free: 0, resv: 0, surplus: 0, max: 0 });
  });
});

describe.each(STRATEGIES)('HVO accounting (%s)', (strategy) => {
  it('count the vmemmap HVO saves and keep a folio whose vmemmap cannot be restored', () => {
    const { pool, h } = boot(strategy, { cmdline: 'hugepages=4', hugetlb_free_vmemmap: true });
    // 512 struct pages of 64 bytes fill 8 vmemmap pages; HVO keeps 1: 7 freed per 2 MiB folio.
    expect(h.vmemmap_pages_freed).toBe(28);
    pool.vmemmapRestoreFailures = 1;
    hugetlbSysfsWrite(pool, `${SYS}/nr_hugepages`, '0');
    // The folio that could not get its vmemmap back is re-added to the pool as surplus.
    expect(counts(h)).toEqual({ nr: 1, free: 1, resv: 0, surplus: 1, max: 0 });
    expect(h.vmemmap_pages_freed).toBe(7);
    // A later grow turns it persistent again without allocating.
    hugetlbSysfsWrite(pool, `${SYS}/nr_hugepages`, '1');
    expect(counts(h)).toEqual({ nr: 1, free: 1, resv: 0, surplus: 0, max: 1 });
  });
});
