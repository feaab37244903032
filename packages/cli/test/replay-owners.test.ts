import { describe, expect, it } from 'vitest';
import { MmError, TraceReplayError, captureMachineState, createMachine, diffMachineState, recordOperations, replayTrace, type FreeDispatchStrategy, type JsonValue, type Machine } from '@mm/core';
import { hugetlbPlugin } from '@mm/hugetlb';
import { balloonPlugin } from '@mm/balloon';
import { zsmallocPlugin } from '@mm/zsmalloc';
import { FOLL_LONGTERM, GUEST_MEMFD_FLAG_MMAP, KVM_MEMORY_ATTRIBUTE_PRIVATE, guestMemfdPlugin } from '@mm/guest-memfd';
import { MEMORY_DEVICE_GENERIC, zoneDevicePlugin } from '@mm/zone-device';
import { snapshotFiles } from '@mm/procfs';
import { loadPluginFactories, pluginResolver } from '../src/index.js';

/**
 * Record and replay through every owner package's `ReplayableOperations`: a scenario that uses
 * hugetlb, balloon, zsmalloc, guest_memfd and ZONE_DEVICE through the recorder replays on a fresh
 * machine to the same state, procfs snapshot byte for byte.
 */

const STRATEGIES: readonly FreeDispatchStrategy[] = ['owner-ops', 'mainline'];
const PLUGINS = ['hugetlb', 'balloon', 'zsmalloc', 'guest-memfd', 'zone-device'] as const;
const PAGE = 4096;
const MB2 = 2 << 20;

function boot(strategy: FreeDispatchStrategy): Machine {
  return createMachine({
    memory: '64M',
    cpus: 2,
    strategy,
    debugVm: true,
    seed: 7,
    plugins: [hugetlbPlugin(), balloonPlugin(), zsmallocPlugin(), guestMemfdPlugin(), zoneDevicePlugin()],
  });
}

/** Every file of two snapshots, byte for byte. */
function expectSameSnapshot(a: Machine, b: Machine): void {
  const sa = snapshotFiles(a);
  const sb = snapshotFiles(b);
  expect([...sb.keys()]).toEqual([...sa.keys()]);
  for (const [path, data] of sa) {
    const other = sb.get(path)!;
    if (typeof data === 'string') expect(other, path).toBe(data);
    else expect(Buffer.compare(Buffer.from(data), Buffer.from(other as Uint8Array)), path).toBe(0);
  }
}

/** The scenario, through the recorder; returns the trace's lines. */
function scenario(m: Machine): string[] {
  const lines: string[] = [];
  const ops = recordOperations(m, (l) => lines.push(l), { plugins: PLUGINS });
  const call = (name: string, ...args: JsonValue[]): JsonValue => ops.call(name, ...args);
  const num = (name: string, ...args: JsonValue[]): number => call(name, ...args) as number;
  const rejected = (name: string, ...args: JsonValue[]): void => {
    expect(() => call(name, ...args), name).toThrow(MmError);
  };

  // hugetlb: a pool of 6 default (2 MiB) pages, a hugetlbfs file mapped shared and faulted, a
  // VMA-less folio taken and put back, a hole punched, the pool shrunk through /proc/sys/vm.
  expect(call('__nr_hugepages_store_common', 9, -1, 6)).toBe(0);
  const sb = num('hugetlbfs_mount');
  const file = num('hugetlbfs_create', sb, 'shm');
  const mm = num('hugetlbNewMm');
  const vma = num('hugetlbfs_file_mmap', mm, file, 4 * MB2, true);
  for (let i = 0; i < 3; i++) expect(call('hugetlb_fault', vma, i * MB2 + PAGE, true)).toBe(0);
  const huge = num('hugetlb_alloc_folio', 9);
  expect(huge).toBeGreaterThan(0);
  call('folio_put', huge); // back to the pool through hugetlb's owner ops (or mainline's branch)
  expect(call('do_munmap', vma)).toBe(0);
  expect(call('hugetlbfs_punch_hole', file, MB2, MB2)).toBe(0);
  expect(call('hugetlbSysfsWrite', 'proc/sys/vm/nr_hugepages', '4\n')).toBe(2);
  rejected('hugetlb_fault', vma, 0, true); // the VMA is gone: its id no longer names one
  rejected('__nr_hugepages_store_common', 7, -1, 1); // no hstate of order 7

  // balloon: a bare device inflated by 12 pages and deflated by 4 (each freed), a virtio balloon
  // driven to a target of 40 frames, then leaking 8.
  const dev = num('balloon_devinfo_init');
  for (let i = 0; i < 12; i++) call('balloon_page_enqueue', dev, num('balloon_page_alloc'));
  for (let i = 0; i < 4; i++) call('put_page', num('balloon_page_dequeue', dev));
  const vb = num('virtballoon_probe');
  call('virtballoonSetTarget', vb, 40);
  expect(call('leak_balloon', vb, 8)).toBe(8);
  rejected('balloon_page_enqueue', dev + 5, 1234); // no such device

  // zsmalloc: 60 objects of mixed sizes, some written, every third freed, then compaction.
  const pool = num('zs_create_pool', 'zram0');
  const handles: number[] = [];
  for (let i = 0; i < 60; i++) handles.push(num('zs_malloc', pool, 200 + ((i * 397) % 3000)));
  for (let i = 0; i < 60; i += 7) call('zs_obj_write', pool, handles[i]!, [1, 2, 3, i]);
  for (let i = 0; i < 60; i += 3) call('zs_free', pool, handles[i]!);
  call('zs_compact', pool);
  rejected('zs_obj_write', pool, handles[1]!, [256]); // not a byte

  // guest_memfd: a 16-page file, [4, 8) made shared, mapped, faulted by the host and pinned; the
  // conversion back to private fails with -EAGAIN while pinned and succeeds once unpinned and drained.
  const vm = num('kvm_create_vm');
  const gfile = num('kvm_gmem_create', vm, 16 * PAGE, GUEST_MEMFD_FLAG_MMAP, { conversion: 'synchronous' });
  expect(call('kvm_gmem_set_attributes', gfile, 4 * PAGE, 4 * PAGE, 0, 0)).toBe(0);
  expect(num('kvm_gmem_get_pfn', gfile, 0)).toBeGreaterThan(0); // a guest fault on a private index
  const gvma = num('kvm_gmem_mmap', gfile, 0, 16);
  for (let i = 4; i < 8; i++) expect(call('handle_mm_fault', gvma, i)).toBe(0);
  const pins = call('pin_user_pages', gvma, 4, 2, FOLL_LONGTERM) as number[];
  expect(pins).toHaveLength(2);
  expect(call('kvm_gmem_set_attributes', gfile, 4 * PAGE, 4 * PAGE, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0)).toEqual([-11, 4 * PAGE]); // -EAGAIN at the first pinned folio
  call('unpin_user_pages', pins);
  call('vm_munmap', gvma);
  call('lru_add_drain_all');
  expect(call('kvm_gmem_set_attributes', gfile, 4 * PAGE, 4 * PAGE, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0)).toBe(0);
  rejected('kvm_gmem_create', vm, 16 * PAGE, 0, { colour: 'blue' }); // unknown option

  // ZONE_DEVICE: a GENERIC pgmap mapped and unmapped, a P2PDMA provider's pool used, a dmirror
  // device's pages allocated and freed by their last put.
  const pgmap = num('memremap_pages', MEMORY_DEVICE_GENERIC, 512);
  const p2p = num('pci_p2pdma_setup');
  expect(call('pci_p2pdma_add_resource', p2p, 512)).toBe(0);
  const p2pmem = num('pci_alloc_p2pmem', p2p, 4);
  expect(p2pmem).toBeGreaterThan(0);
  const dmirror = num('dmirror_device_init');
  const dpages = [0, 1, 2].map(() => num('dmirror_devmem_alloc_page', dmirror));
  call('pci_free_p2pmem', p2p, p2pmem, 2);
  for (const p of dpages.slice(1)) {
    call('folio_unlock', p);
    call('folio_put', p);
  }
  expect(call('memunmap_pages', pgmap)).toBe(true);
  rejected('memremap_pages', 1, 512); // MEMORY_DEVICE_PRIVATE needs a driver
  return lines;
}

describe.each(STRATEGIES)('owner packages record and replay (%s)', (strategy) => {
  // Recorded once, replayed by both tests (the recording runs every invariant check: debugVm).
  const m = boot(strategy);
  const lines = scenario(m);

  it('a scenario using every owner package replays to the same procfs snapshot, byte for byte', async () => {
    const used = new Set(lines.slice(1).map((l) => (JSON.parse(l) as { op: string }).op));
    for (const op of ['hugetlb_fault', 'balloon_page_enqueue', 'zs_malloc', 'kvm_gmem_set_attributes', 'memremap_pages', 'dmirror_devmem_alloc_page']) expect(used).toContain(op);
    expect(lines.filter((l) => l.includes('"err":"EINVAL"'))).toHaveLength(6);

    const factories = await loadPluginFactories(PLUGINS);
    const r = replayTrace(`${lines.join('\n')}\n`, { resolvePlugin: pluginResolver(factories) });
    expect(r.operations).toBe(lines.length - 1);
    const meminfo = snapshotFiles(r.machine).get('proc/meminfo') as string;
    expect(meminfo).toMatch(/^HugePages_Total: +4$/m); // 6, shrunk to 4 through /proc/sys/vm/nr_hugepages
    // 8 pages left in the bare device (12 in, 4 out) + 32 in the virtio balloon (40 frames, 8 leaked)
    expect(meminfo).toMatch(/^Balloon: +160 kB$/m);
    expectSameSnapshot(m, r.machine);
    expect(diffMachineState(captureMachineState(m), captureMachineState(r.machine))).toEqual([]);
  });

  it('a tampered line is reported with its line number', async () => {
    const factories = await loadPluginFactories(PLUGINS);
    const resolvePlugin = pluginResolver(factories);
    const i = lines.findIndex((l) => l.startsWith('{"op":"zs_malloc"'));
    const tampered = [...lines];
    tampered[i] = tampered[i]!.replace(/"ret":(\d+)/, (_, h: string) => `"ret":${Number(h) + 1}`);
    expect(() => replayTrace(tampered, { resolvePlugin })).toThrow(new RegExp(`^trace line ${i + 1}: zs_malloc returned \\d+; the trace says it returned \\d+$`));
    // An object id the trace never handed out: the replay throws EINVAL where the recording returned.
    const j = lines.findIndex((l) => l.startsWith('{"op":"hugetlbfs_create"'));
    const badId = [...lines];
    badId[j] = badId[j]!.replace('"args":[0,', '"args":[3,');
    let err: unknown = null;
    try {
      replayTrace(badId.join('\n'), { resolvePlugin });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TraceReplayError);
    expect((err as TraceReplayError).line).toBe(j + 1);
    expect((err as Error).message).toMatch(/hugetlbfs_create threw EINVAL: hugetlbfs_create: no hugetlbfs mount 3/);
  });
});
