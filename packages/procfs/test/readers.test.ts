import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NR_NODE, NR_ZONE, VM_EVENT, NR_PAGE_ORDERS, type Machine } from '@mm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meminfoValues, writeSnapshot } from '@mm/procfs';
import { hugetlbLike } from './helpers.js';
import { buildScenario } from './scenario.js';

/*
 * Stock readers pointed at a snapshot of the scenario (fragmented zone, THP, balloon, zsmalloc pool,
 * hugetlb-like pools), their numbers compared with the model's. Debian packages (what .ci/run installs):
 * prometheus-node-exporter, python3-psutil, numactl (numastat), libhugetlbfs-bin (hugeadm), procps
 * (free, vmstat). numastat, hugeadm, free and vmstat read fixed paths: they run in a private mount
 * namespace (unshare -m, root only) with the snapshot's files bind-mounted over the host's. A reader
 * that cannot run here is skipped with the reason printed, never passed.
 */

const sh = (cmd: string): boolean => spawnSync('sh', ['-c', cmd], { stdio: 'ignore' }).status === 0;
const NODE_EXPORTER = 'prometheus-node-exporter';
const PYTHON = '/usr/bin/python3'; // Debian's python3-psutil is installed for the system interpreter
const canBind = sh('unshare -m --propagation private true');
const readers = {
  nodeExporter: sh(`command -v ${NODE_EXPORTER}`) ? null : `${NODE_EXPORTER} is not installed (apt-get install prometheus-node-exporter)`,
  psutil: sh(`${PYTHON} -c 'import psutil'`) ? null : 'python3-psutil is not installed for /usr/bin/python3 (apt-get install python3-psutil)',
  free: !sh('command -v free') ? 'procps free is not installed' : canBind ? null : 'free reads /proc/meminfo only: needs unshare -m (root) to bind-mount the snapshot',
  vmstat: !sh('command -v vmstat') ? 'procps vmstat is not installed' : canBind ? null : 'vmstat reads fixed /proc paths: needs unshare -m (root)',
  numastat: !sh('command -v numastat') ? 'numastat is not installed (apt-get install numactl)' : canBind ? null : 'numastat reads /sys/devices/system/node: needs unshare -m (root)',
  hugeadm: !sh('command -v hugeadm') ? 'hugeadm is not installed (apt-get install libhugetlbfs-bin)' : canBind ? null : 'hugeadm reads fixed paths: needs unshare -m (root)',
};
for (const [name, why] of Object.entries(readers)) if (why) console.warn(`[procfs readers] SKIPPING ${name}: ${why}`);

let dir = '';
let m: Machine;
let meminfo: Map<string, number>;
const zoneSum = (i: number): number => m.zones.reduce((s, z) => s + z.vmstat[i]!, 0);
const nodeFree = (nid: number): number => m.zones.filter((z) => z.nid === nid).reduce((s, z) => s + z.vmstat[NR_ZONE.nr_free_pages]!, 0);
const nodeManaged = (nid: number): number => m.zones.filter((z) => z.nid === nid).reduce((s, z) => s + z.managed_pages, 0);

beforeAll(async () => {
  m = buildScenario('owner-ops', [hugetlbLike]).m;
  meminfo = meminfoValues(m);
  dir = join(mkdtempSync(join(tmpdir(), 'mm-readers-')), 'root');
  await writeSnapshot(m, dir);
});
afterAll(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

/** Run `argv` with `binds` (snapshot path → host path) mounted in a private mount namespace. */
function bound(binds: readonly [string, string][], argv: readonly string[]): string {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = [...binds.map(([src, dst]) => `mount --bind ${q(join(dir, src))} ${q(dst)}`), `exec ${argv.map(q).join(' ')}`].join(' && ');
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

async function waitForPort(port: number, child: { exitCode: number | null }): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`node_exporter exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1', () => (s.end(), res(true)));
      s.on('error', () => res(false));
    });
    if (ok) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('node_exporter did not start listening');
}

describe('Prometheus node_exporter (collectors meminfo, buddyinfo, vmstat, meminfo_numa, zoneinfo, sysctl)', () => {
  let metrics = new Map<string, number>();
  const metric = (name: string, labels: Record<string, string | number> = {}): number | undefined => {
    const l = Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`);
    return metrics.get(l.length ? `${name}{${l.join(',')}}` : name);
  };

  beforeAll(async () => {
    if (readers.nodeExporter) return;
    const port = await freePort();
    const child = spawn(
      NODE_EXPORTER,
      [
        `--web.listen-address=127.0.0.1:${port}`,
        `--path.procfs=${join(dir, 'proc')}`,
        `--path.sysfs=${join(dir, 'sys')}`,
        '--collector.disable-defaults',
        '--collector.meminfo',
        '--collector.buddyinfo',
        '--collector.vmstat',
        '--collector.vmstat.fields=^(nr_free_pages|nr_zspages|nr_balloon_pages|pgalloc_.*|pgfree|balloon_.*)$',
        '--collector.meminfo_numa',
        '--collector.zoneinfo',
        '--collector.sysctl',
        '--collector.sysctl.include=vm.min_free_kbytes',
        '--collector.sysctl.include=vm.nr_hugepages',
        '--collector.sysctl.include=vm.lowmem_reserve_ratio:dma,dma32,normal,movable,device',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((res) => child.on('exit', () => res()));
    try {
      await waitForPort(port, child);
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      for (const l of body.split('\n')) {
        const r = /^(\S+) (\S+)$/.exec(l);
        if (r && !l.startsWith('#')) metrics.set(r[1]!, Number(r[2]));
      }
    } finally {
      process.kill(child.pid!, 'SIGTERM');
      await exited;
    }
    expect(stderr).not.toMatch(/level=error/);
  });

  it.skipIf(readers.nodeExporter !== null)('every collector succeeds on the snapshot', () => {
    for (const c of ['meminfo', 'buddyinfo', 'vmstat', 'meminfo_numa', 'zoneinfo', 'sysctl']) expect(metric('node_scrape_collector_success', { collector: c }), c).toBe(1);
  });

  it.skipIf(readers.nodeExporter !== null)('meminfo: MemFree is NR_FREE_PAGES·4096, MemTotal the managed pages, HugePages and Balloon as contributed', () => {
    expect(metric('node_memory_MemFree_bytes')).toBe(zoneSum(NR_ZONE.nr_free_pages) * 4096);
    expect(metric('node_memory_MemTotal_bytes')).toBe(m.zones.reduce((s, z) => s + z.managed_pages, 0) * 4096);
    expect(metric('node_memory_MemAvailable_bytes')).toBe(meminfo.get('MemAvailable')! * 1024);
    expect(metric('node_memory_Active_anon_bytes')).toBe(m.nodes.reduce((s, n) => s + n.vmstat[NR_NODE.nr_active_anon]!, 0) * 4096);
    expect(metric('node_memory_Balloon_bytes')).toBe(300 * 4096);
    expect([metric('node_memory_HugePages_Total'), metric('node_memory_HugePages_Free'), metric('node_memory_HugePages_Rsvd'), metric('node_memory_Hugepagesize_bytes')]).toEqual([6, 4, 1, 2048 * 1024]);
  });

  it.skipIf(readers.nodeExporter !== null)('buddyinfo: free blocks per node, zone and order are the zones nr_free', () => {
    for (const z of m.zones) for (let o = 0; o < NR_PAGE_ORDERS; o++) expect(metric('node_buddyinfo_blocks', { node: z.nid, size: o, zone: z.name }), `${z.nid} ${z.name} ${o}`).toBe(z.nr_free[o]);
  });

  it.skipIf(readers.nodeExporter !== null)('vmstat: counters are the model counters', () => {
    expect(metric('node_vmstat_nr_free_pages')).toBe(zoneSum(NR_ZONE.nr_free_pages));
    expect(metric('node_vmstat_nr_zspages')).toBe(zoneSum(NR_ZONE.nr_zspages));
    expect(metric('node_vmstat_nr_balloon_pages')).toBe(300);
    for (const n of ['pgalloc_dma', 'pgalloc_dma32', 'pgalloc_movable', 'pgfree', 'balloon_inflate', 'balloon_deflate'] as const) {
      expect(metric(`node_vmstat_${n}`), n).toBe(m.vmEvents[VM_EVENT[n]]);
    }
  });

  it.skipIf(readers.nodeExporter !== null)('meminfo_numa and zoneinfo: per-node and per-zone numbers, summing to the global ones', () => {
    for (const nid of [0, 1]) {
      expect(metric('node_memory_numa_MemFree', { node: nid })).toBe(nodeFree(nid) * 4096);
      expect(metric('node_memory_numa_MemTotal', { node: nid })).toBe(nodeManaged(nid) * 4096);
      expect(metric('node_memory_numa_HugePages_Total', { node: nid })).toBe(3);
      expect(metric('node_memory_numa_numa_hit_total', { node: nid })).toBe(0);
    }
    expect(metric('node_memory_numa_MemFree', { node: 0 })! + metric('node_memory_numa_MemFree', { node: 1 })!).toBe(metric('node_memory_MemFree_bytes'));
    for (const z of m.zones) {
      const l = { node: z.nid, zone: z.name };
      expect([metric('node_zoneinfo_nr_free_pages', l), metric('node_zoneinfo_managed_pages', l), metric('node_zoneinfo_min_pages', l), metric('node_zoneinfo_high_pages', l)]).toEqual([
        z.vmstat[NR_ZONE.nr_free_pages],
        z.managed_pages,
        z.watermark[0],
        z.watermark[2],
      ]);
    }
  });

  it.skipIf(readers.nodeExporter !== null)('sysctl: vm.min_free_kbytes, vm.nr_hugepages, vm.lowmem_reserve_ratio', () => {
    expect(metric('node_sysctl_vm_min_free_kbytes')).toBe(m.minFreeKbytes);
    expect(metric('node_sysctl_vm_nr_hugepages')).toBe(6);
    expect(['dma', 'dma32', 'normal', 'movable', 'device'].map((z) => metric(`node_sysctl_vm_lowmem_reserve_ratio_${z}`))).toEqual([256, 256, 32, 0, 0]);
  });
});

describe('python3-psutil with psutil.PROCFS_PATH', () => {
  it.skipIf(readers.psutil !== null)('virtual_memory() and swap_memory() report the model numbers', () => {
    const code = `import json, psutil\npsutil.PROCFS_PATH = ${JSON.stringify(join(dir, 'proc'))}\nprint(json.dumps({"vm": psutil.virtual_memory()._asdict(), "swap": psutil.swap_memory()._asdict()}))`;
    const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const { vm, swap } = JSON.parse(r.stdout) as { vm: Record<string, number>; swap: Record<string, number> };
    const total = meminfo.get('MemTotal')! * 1024;
    const free = zoneSum(NR_ZONE.nr_free_pages) * 4096;
    expect(vm.total).toBe(total);
    expect(vm.free).toBe(free);
    expect(vm.available).toBe(meminfo.get('MemAvailable')! * 1024);
    expect(vm.active).toBe(512 * 4096); // the anon THP; the file folios are inactive
    expect(vm.inactive).toBe(40 * 4096);
    expect([vm.buffers, vm.cached, vm.shared]).toEqual([0, 0, 0]);
    expect(vm.used).toBe(total - free); // psutil 5.9: total − free − buffers − cached
    expect([swap.total, swap.sin, swap.sout]).toEqual([0, 0, 0]);
  });
});

describe('procps, numastat and hugeadm through bind mounts (private mount namespace)', () => {
  it.skipIf(readers.free !== null)('free -k: total, used (= total − available), free, available', () => {
    const row = bound([['proc/meminfo', '/proc/meminfo']], ['free', '-k']).split('\n').find((l) => l.startsWith('Mem:'))!;
    const [total, used, free, shared, buffcache, available] = row.split(/\s+/).slice(1).map(Number);
    expect([total, free, available, shared, buffcache]).toEqual([meminfo.get('MemTotal'), meminfo.get('MemFree'), meminfo.get('MemAvailable'), 0, 0]);
    expect(used).toBe(meminfo.get('MemTotal')! - meminfo.get('MemAvailable')!);
  });

  it.skipIf(readers.vmstat !== null)('vmstat -s: memory totals from meminfo, paging counters from vmstat', () => {
    const out = bound(
      [
        ['proc/meminfo', '/proc/meminfo'],
        ['proc/vmstat', '/proc/vmstat'],
      ],
      ['vmstat', '-s'],
    );
    const v = (label: string): number => Number(new RegExp(`^\\s*(\\d+) ${label.replace(/[()]/g, '\\$&')}$`, 'm').exec(out)![1]);
    expect(v('K total memory')).toBe(meminfo.get('MemTotal'));
    expect(v('K free memory')).toBe(zoneSum(NR_ZONE.nr_free_pages) * 4);
    expect(v('K active memory')).toBe(512 * 4);
    expect(v('K inactive memory')).toBe(40 * 4);
    expect([v('K paged in'), v('K paged out'), v('pages swapped in'), v('pages swapped out')]).toEqual([0, 0, 0, 0]);
  });

  it.skipIf(readers.numastat !== null)('numastat -m: per-node MB that add up to the totals; numastat: the NUMA counters', () => {
    const out = bound([['sys/devices/system/node', '/sys/devices/system/node']], ['numastat', '-m']);
    const row = (key: string): number[] => new RegExp(`^${key.replace(/[()]/g, '\\$&')}\\s+(.*)$`, 'm').exec(out)![1]!.trim().split(/\s+/).map(Number);
    const mb = (pages: number): number => Math.round((pages * 4096) / 2 ** 20 * 100) / 100;
    expect(row('MemFree')).toEqual([mb(nodeFree(0)), mb(nodeFree(1)), mb(nodeFree(0) + nodeFree(1))]);
    expect(row('MemTotal')).toEqual([mb(nodeManaged(0)), mb(nodeManaged(1)), mb(nodeManaged(0) + nodeManaged(1))]);
    expect(row('HugePages_Total')).toEqual([6, 6, 12]); // numastat shows huge pages in MB: 3 × 2 MiB per node
    const stat = bound([['sys/devices/system/node', '/sys/devices/system/node']], ['numastat']);
    expect(/^numa_hit\s+(\d+)\s+(\d+)\s*$/m.exec(stat)!.slice(1).map(Number)).toEqual([0, 0]);
  });

  it.skipIf(readers.hugeadm !== null)('hugeadm --pool-list: each pool minimum (nr − surplus), current, maximum (nr + overcommit), default', () => {
    const out = bound(
      [
        ['proc/meminfo', '/proc/meminfo'],
        ['sys/kernel/mm/hugepages', '/sys/kernel/mm/hugepages'],
        ['proc/sys/vm/nr_hugepages', '/proc/sys/vm/nr_hugepages'],
        ['proc/sys/vm/nr_overcommit_hugepages', '/proc/sys/vm/nr_overcommit_hugepages'],
      ],
      ['hugeadm', '--pool-list'],
    );
    const rows = out.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
    expect(rows).toEqual([
      ['2097152', '6', '6', '8', '*'],
      ['1073741824', '0', '0', '0'],
    ]);
  });
});
