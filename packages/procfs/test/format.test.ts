import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GFP_KERNEL, alloc_pages, createMachine } from '@mm/core';
import { MEMINFO_FIELDS, snapshotFiles, zoneinfo_show } from '@mm/procfs';
import { buildScenario } from './scenario.js';

/*
 * Byte-format checks against the output of a real Linux 6.18 x86-64 host (test/fixtures): same keys in
 * the same order (up to the documented configuration differences), same column positions, same units.
 * The host was built without CONFIG_CMA and CONFIG_MEMORY_FAILURE; the model's configuration has both,
 * which adds HardwareCorrupted/CmaTotal/CmaFree to meminfo, cma_alloc_* to vmstat and the CMA
 * migratetype to pagetypeinfo.
 */

const host = (f: string): string => readFileSync(new URL(`./fixtures/linux-6.18-x86_64/${f}`, import.meta.url), 'utf8');
const { m } = buildScenario('owner-ops');
const files = snapshotFiles(m);
const text = (p: string): string => files.get(p) as string;
const lines = (s: string): string[] => s.replace(/\n$/, '').split('\n');

/** Per meminfo line: key, the column after the value, and the unit. */
function meminfoShape(s: string, prefix = ''): { key: string; edge: number; unit: string }[] {
  return lines(s).map((l) => {
    const r = new RegExp(`^${prefix}([A-Za-z0-9_()]+):( +)(\\d+)( kB)?$`).exec(l);
    if (!r) throw new Error(`not a meminfo line: ${JSON.stringify(l)}`);
    return { key: r[1]!, edge: l.length - (r[4] ?? '').length, unit: r[4] ?? '' };
  });
}

const CONFIG_EXTRA_MEMINFO = ['HardwareCorrupted', 'CmaTotal', 'CmaFree'];

describe('/proc/meminfo format (fs/proc/meminfo.c, v6.18)', () => {
  it('has the host kernel keys in the same order, plus only the CMA / MEMORY_FAILURE lines', () => {
    const ours = meminfoShape(text('proc/meminfo'));
    const theirs = meminfoShape(host('meminfo'));
    expect(ours.map((l) => l.key).filter((k) => !CONFIG_EXTRA_MEMINFO.includes(k))).toEqual(theirs.map((l) => l.key));
    expect(ours.map((l) => l.key)).toEqual(MEMINFO_FIELDS.map((f) => f.key));
  });

  it('puts every value at the same column with the same unit as the kernel', () => {
    const theirs = new Map(meminfoShape(host('meminfo')).map((l) => [l.key, l]));
    for (const l of meminfoShape(text('proc/meminfo'))) {
      const t = theirs.get(l.key);
      if (t) expect({ key: l.key, edge: l.edge, unit: l.unit }).toEqual({ key: t.key, edge: t.edge, unit: t.unit });
    }
    // HardwareCorrupted is "%5lu kB" after "HardwareCorrupted: " (fs/proc/meminfo.c); counts have no unit.
    expect(text('proc/meminfo')).toMatch(/^HardwareCorrupted: {5}4 kB$/m);
    expect(text('proc/meminfo')).toMatch(/^HugePages_Total: {7}0$/m);
  });

  it('fits the 2048-byte single read hugeadm makes, and has no blank line', () => {
    expect(Buffer.byteLength(text('proc/meminfo'))).toBeLessThan(2048);
    expect(text('proc/meminfo')).not.toMatch(/\n\n/);
  });
});

describe('node meminfo and numastat format (drivers/base/node.c, v6.18)', () => {
  it('matches the host node file key for key and column for column', () => {
    const ours = meminfoShape(text('sys/devices/system/node/node1/meminfo'), 'Node 1 ');
    const theirs = meminfoShape(host('node0-meminfo'), 'Node 0 ');
    expect(ours).toEqual(theirs);
  });

  it('numastat has the host names, two fields per line', () => {
    const names = (s: string): string[] => lines(s).map((l) => l.split(' ')[0]!);
    expect(names(text('sys/devices/system/node/node0/numastat'))).toEqual(names(host('node0-numastat')));
    for (const l of lines(text('sys/devices/system/node/node0/numastat'))) expect(l).toMatch(/^[a-z_]+ \d+$/);
  });
});

describe('/proc/buddyinfo and /proc/pagetypeinfo format (mm/vmstat.c)', () => {
  it('buddyinfo lines have the host kernel columns: "%8s " zone name, eleven "%6lu " fields', () => {
    const shape = /^Node \d, zone [ A-Za-z0-9]{8} ( {0,5}\d{1,6} ){11}$/;
    for (const l of [...lines(host('buddyinfo')), ...lines(text('proc/buddyinfo'))]) expect(l).toMatch(shape);
    expect(new Set(lines(text('proc/buddyinfo')).map((l) => l.length))).toEqual(new Set(lines(host('buddyinfo')).map((l) => l.length)));
  });

  it('pagetypeinfo lines have the host shapes (digits, zone and migratetype names aside)', () => {
    const norm = (l: string): string =>
      l
        .replace(/zone [ A-Za-z0-9]{8}/, 'zone ZZZZZZZZ')
        .replace(/type [ A-Za-z]{12}/, 'type TTTTTTTTTTTT')
        .replace(/ *\d+/g, (x) => 'N'.repeat(x.length)); // keeps each field's right edge
    const theirs = new Set(lines(host('pagetypeinfo')).map(norm));
    const blockHeader = /^Number of blocks type {5}( {0,11}[A-Za-z]+ ){6}$/;
    for (const l of lines(text('proc/pagetypeinfo'))) {
      if (l.startsWith('Number of blocks type')) expect(l).toMatch(blockHeader);
      else if (/^Node \d, zone [ A-Za-z0-9]{8} /.test(l)) expect(l).toMatch(/^Node \d, zone [ A-Za-z0-9]{8} ( {0,11}\d+ ){6}$/);
      else expect(theirs).toContain(norm(l));
    }
  });
});

describe('/proc/vmstat and /proc/zoneinfo format (mm/vmstat.c, v6.18)', () => {
  it('vmstat prints the host kernel names in order, plus cma_alloc_* (CONFIG_CMA), as "name value"', () => {
    const names = (s: string): string[] => lines(s).map((l) => l.split(' ')[0]!);
    const theirs = names(host('vmstat'));
    const expected = [...theirs];
    expected.splice(theirs.indexOf('htlb_buddy_alloc_fail') + 1, 0, 'cma_alloc_success', 'cma_alloc_fail');
    expect(names(text('proc/vmstat'))).toEqual(expected);
    for (const l of lines(text('proc/vmstat'))) expect(l).toMatch(/^[a-z0-9_]+ \d+$/);
  });

  it('every zoneinfo zone block has the shape of one of the host blocks (first populated, populated, empty)', () => {
    const blocks = (s: string): string[] =>
      s
        .split(/(?<=\n)(?=Node \d+, zone)/)
        .map((b) => b.replace(/zone [ A-Za-z0-9]{8}/, 'zone ZZZZZZZZ').replace(/\d+/g, 'N'));
    const theirs = blocks(host('zoneinfo'));
    expect(new Set(theirs).size).toBe(3);
    const ours = blocks(text('proc/zoneinfo'));
    expect(ours).toHaveLength(2 * 5); // every zone index of both nodes is printed
    for (const b of ours) expect(theirs).toContain(b);
  });
});

describe('/proc/zoneinfo pagesets (mm/vmstat.c, the pcp auto-tuning of mm/page_alloc.c)', () => {
  const pageset = (zoneinfo: string, zone: string, cpu: number): Record<string, number> => {
    const block = zoneinfo.split(/(?<=\n)(?=Node \d+, zone)/).find((b) => b.startsWith(`Node 0, zone ${zone.padStart(8)}`))!;
    const at = block.indexOf(`    cpu: ${cpu}\n`);
    const fields = block.slice(at).split('\n').slice(1, 6);
    return Object.fromEntries(fields.map((l) => l.trim().split(/:\s+/)).map(([k, v]) => [k!, Number(v)]));
  };

  it('prints each CPU list with its tuned high between high_min and high_max; 0 on a CPU that never used the zone', () => {
    // A 1 GiB, 2-CPU machine: DMA32 batch 63, high_min = low watermark 1266 / 2, high_max = 258048 / 8 / 2.
    const fresh = createMachine({});
    expect(pageset(zoneinfo_show(fresh), 'DMA32', 0)).toEqual({ count: 0, high: 0, batch: 63, high_min: 633, high_max: 16128 });
    // ZONE_DMA, like the host's: batch 1 and high_max 240 (3840 pages / 8 / 2).
    expect(pageset(zoneinfo_show(fresh), 'DMA', 0)).toMatchObject({ high: 0, batch: 1, high_max: 240 });
    // The first allocation refills 63 pages and raises high by them: 633 + 63.
    alloc_pages(fresh, GFP_KERNEL, 0);
    expect(pageset(zoneinfo_show(fresh), 'DMA32', 0)).toEqual({ count: 62, high: 696, batch: 63, high_min: 633, high_max: 16128 });
    expect(pageset(zoneinfo_show(fresh), 'DMA32', 1)).toMatchObject({ count: 0, high: 0 });
  });
});
