import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EEXIST,
  EINVAL,
  MmError,
  captureMachineState,
  createMachine,
  diffMachineState,
  type Machine,
  type MmPlugin,
} from '@mm/core';
import { afterAll, describe, expect, it } from 'vitest';
import { meminfo_proc_show, node_read_meminfo, snapshotFiles, writeSnapshot } from '@mm/procfs';
import { contributor, hugetlbLike } from './helpers.js';
import { parseMeminfo } from './parse.js';

const boot = (...plugins: MmPlugin[]): Machine => createMachine({ memory: '64M', nodes: 2, debugVm: true, plugins });

function rejects(m: Machine, errno: number, what: RegExp): void {
  const before = captureMachineState(m);
  let err: unknown;
  try {
    snapshotFiles(m);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(MmError);
  expect((err as MmError).errno).toBe(errno);
  expect((err as MmError).message).toMatch(what);
  expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
}

describe('ProcfsContributor values and files are merged, formatted by @mm/procfs', () => {
  const m = boot(hugetlbLike);
  const files = snapshotFiles(m);
  const meminfo = parseMeminfo(files.get('proc/meminfo') as string);

  it('meminfo prints the contributed HugePages_* counts (no unit), Hugepagesize and Hugetlb', () => {
    expect(meminfo_proc_show(m)).toMatch(/^HugePages_Total: {7}6\nHugePages_Free: {8}4\nHugePages_Rsvd: {8}1\nHugePages_Surp: {8}0\nHugepagesize: {7}2048 kB\nHugetlb: {11}12288 kB\n/m);
    // vm_commit_limit(): hugetlb pages do not count toward the overcommit limit.
    const managed = m.zones.reduce((s, z) => s + z.managed_pages, 0);
    expect(meminfo.get('CommitLimit')).toBe(Math.floor(((managed - 12288 / 4) * 50) / 100) * 4);
  });

  it('the default size sysfs files, the vm.nr_hugepages sysctls and meminfo agree; per-node sums are global', () => {
    const d = 'sys/kernel/mm/hugepages/hugepages-2048kB';
    expect(files.get(`${d}/nr_hugepages`)).toBe(`${meminfo.get('HugePages_Total')}\n`);
    expect(files.get(`${d}/free_hugepages`)).toBe(`${meminfo.get('HugePages_Free')}\n`);
    expect(files.get(`${d}/resv_hugepages`)).toBe(`${meminfo.get('HugePages_Rsvd')}\n`);
    expect(files.get('proc/sys/vm/nr_hugepages')).toBe('6\n');
    expect(files.get('proc/sys/vm/nr_hugepages_mempolicy')).toBe('6\n');
    expect(files.get('proc/sys/vm/nr_overcommit_hugepages')).toBe('2\n');
    const nodes = [0, 1].map((nid) => parseMeminfo(node_read_meminfo(m, nid)));
    expect(nodes.map((n) => n.get('HugePages_Total'))).toEqual([3, 3]);
    expect(nodes[0]!.get('HugePages_Total')! + nodes[1]!.get('HugePages_Total')!).toBe(meminfo.get('HugePages_Total'));
    expect(node_read_meminfo(m, 0)).toMatch(/\nNode 0 HugePages_Total: {5}3\nNode 0 HugePages_Free: {6}2\nNode 0 HugePages_Surp: {6}0\n$/);
  });

  it('contributed files replace the synthesised pools and are written as given', () => {
    expect(files.get('sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages')).toBe('0\n');
    expect(files.get('sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages')).toBe('2\n');
    expect([...files.keys()].filter((p) => p.startsWith('sys/kernel/mm/hugepages/'))).toHaveLength(12); // 6 files × 2 sizes, none synthesised
  });

  it('a node value for a key node files do not print (Balloon, v6.18) is accepted and not printed', () => {
    const mm = boot(contributor({ name: 'b', meminfo: () => ({ Balloon: 8 }) }));
    expect(parseMeminfo(meminfo_proc_show(mm)).get('Balloon')).toBe(8);
    expect(node_read_meminfo(mm, 0)).not.toMatch(/Balloon/);
  });
});

describe('bad contributions are rejected before anything is produced (machine unchanged)', () => {
  it('EINVAL: a key the kernel does not print, a key the core derives, a value that is not a count', () => {
    rejects(boot(contributor({ name: 'x', meminfo: () => ({ Foo: 1 }) })), EINVAL, /x contributed meminfo key "Foo"/);
    rejects(boot(contributor({ name: 'x', meminfo: () => ({ MemFree: 1 }) })), EINVAL, /key "MemFree"/);
    rejects(boot(contributor({ name: 'x', meminfo: () => ({ Slab: -4 }) })), EINVAL, /Slab = -4/);
    rejects(boot(contributor({ name: 'x', meminfo: () => ({ Slab: 1.5 }) })), EINVAL, /Slab = 1.5/);
  });

  it('EINVAL: the same key from two contributors', () => {
    rejects(boot(contributor({ name: 'a', meminfo: () => ({ Slab: 4 }) }), contributor({ name: 'b', meminfo: () => ({ Slab: 4 }) })), EINVAL, /Slab contributed twice \(again by b\)/);
  });

  it('EINVAL: a path outside proc/ and sys/, absolute, or with . / .. parts', () => {
    for (const p of ['etc/passwd', '/proc/x', 'proc/../etc/passwd', 'proc//x', 'proc']) {
      rejects(boot(contributor({ name: 'x', files: () => ({ [p]: '1\n' }) })), EINVAL, /contributed the file/);
    }
  });

  it('EEXIST: a path given twice, or one @mm/procfs generates', () => {
    rejects(boot(contributor({ name: 'a', files: () => ({ 'sys/x': '1\n' }) }), contributor({ name: 'b', files: () => ({ 'sys/x': '2\n' }) })), EEXIST, /sys\/x contributed by both a and b/);
    rejects(boot(contributor({ name: 'a', files: () => ({ 'proc/meminfo': '' }) })), EEXIST, /a contributed proc\/meminfo/);
  });

  it('EINVAL: a vm.nr_hugepages sysctl that disagrees with the default size sysfs file (an agreeing one is fine)', () => {
    rejects(boot(hugetlbLike, contributor({ name: 'c', files: () => ({ 'proc/sys/vm/nr_hugepages': '5\n' }) })), EINVAL, /nr_hugepages/);
    expect(snapshotFiles(boot(hugetlbLike, contributor({ name: 'c', files: () => ({ 'proc/sys/vm/nr_hugepages': '6\n' }) }))).get('proc/sys/vm/nr_hugepages')).toBe('6\n');
  });
});

describe('writeSnapshot', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'mm-procfs-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('writes every file of snapshotFiles under the directory, byte for byte', async () => {
    const m = boot(hugetlbLike);
    const dir = join(tmp, 'snap');
    const files = snapshotFiles(m);
    const summary = await writeSnapshot(m, dir);
    expect(summary.files).toBe(files.size);
    for (const [p, data] of files) expect(readFileSync(join(dir, p)).equals(Buffer.from(data)), p).toBe(true);
    expect(summary.bytes).toBe([...files.values()].reduce((s, d) => s + Buffer.byteLength(d), 0));
  });

  it('EEXIST for a non-empty directory, which it leaves as it was', async () => {
    const dir = join(tmp, 'busy');
    mkdirSync(dir);
    writeFileSync(join(dir, 'keep'), 'x');
    await expect(writeSnapshot(boot(), dir)).rejects.toMatchObject({ errno: EEXIST });
    expect(readdirSync(dir)).toEqual(['keep']);
  });

  it('writes nothing when a contribution is rejected', async () => {
    const dir = join(tmp, 'never');
    await expect(writeSnapshot(boot(contributor({ name: 'x', meminfo: () => ({ Foo: 1 }) })), dir)).rejects.toMatchObject({ errno: EINVAL });
    expect(existsSync(dir)).toBe(false);
  });
});
