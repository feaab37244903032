import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { main, type CliIo } from '../src/index.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const FIXTURES = join(import.meta.dirname, 'fixtures');
const JSON_SCENARIO = 'examples/scenarios/thp-and-double-free.json';
const TS_SCENARIO = 'examples/scenarios/lru-churn.ts';
const tmp = mkdtempSync(join(tmpdir(), 'mmsim-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `mmsim` in-process from the repository root with captured output. */
async function mmsim(args: readonly string[], tty = false): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: tty, columns: 100 },
    cwd: ROOT,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** A run that failed on bad input: status 1, nothing on stdout, exactly one line on stderr. */
async function badInput(args: readonly string[]): Promise<string> {
  const r = await mmsim(args);
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  return r.stderr.trimEnd();
}

function files(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

describe('mmsim', () => {
  it('has --help on every command', async () => {
    const top = await mmsim(['--help']);
    expect(top.code).toBe(0);
    for (const cmd of ['boot', 'run', 'snapshot', 'stat', 'replay']) expect(top.stdout).toContain(`\n  ${cmd}`);
    for (const cmd of ['boot', 'run', 'snapshot', 'stat', 'replay']) {
      const r = await mmsim([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: mmsim ${cmd} \\[options\\]`));
      expect(r.stdout).toContain('--json');
      expect(r.stderr).toBe('');
    }
  });

  describe('boot', () => {
    it('boots a machine and prints its zones, buddyinfo and meminfo', async () => {
      const r = await mmsim(['boot', '--memory', '64M', '--cpus', '4', '--strategy', 'mainline']);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      // 64 MiB: ZONE_DMA (PFNs 0-0xfff, the first 1 MiB reserved) and ZONE_DMA32 (0x1000-0x3fff).
      expect(r.stdout).toContain('booted 64M, 1 node, 4 CPUs, strategy mainline, seed 1, plugins: none\n');
      expect(r.stdout).toContain('Node 0, zone      DMA: pfn 0x0-0xfff, 4096 present, 3840 managed, 3840 free\n');
      expect(r.stdout).toContain('Node 0, zone    DMA32: pfn 0x1000-0x3fff, 12288 present, 12288 managed, 12288 free\n');
      expect(r.stdout).toContain('Node 0, zone    DMA32      0      0      0      0      0      0      0      0      0      0     12 \n');
      expect(r.stdout).toMatch(/MemTotal: +64512 kB\n/); // 16128 managed pages
    });

    it('prints JSON with --json, and takes plugins with their options', async () => {
      const r = await mmsim(['boot', '--memory', '128M', '--nodes', '2', '--seed', '9', '--plugins', 'hugetlb,balloon', '--plugin-opt', 'hugetlb.cmdline=hugepages=4', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as { machine: Record<string, unknown>; plugins: string[]; zones: { node: number; zone: string }[] };
      expect(j.machine).toMatchObject({ memory: '128M', nodes: 2, seed: 9, pluginOptions: { hugetlb: { cmdline: 'hugepages=4' } } });
      expect(j.plugins).toEqual(['hugetlb', 'balloon']);
      expect(j.zones.map((z) => `${z.node}:${z.zone}`)).toEqual(['0:DMA', '0:DMA32', '1:DMA32']);
      const text = await mmsim(['boot', '--memory', '128M', '--plugins', 'hugetlb', '--plugin-opt', 'hugetlb.cmdline=hugepages=4']);
      expect(text.stdout).toMatch(/HugePages_Total: +4\n/);
    });

    it('boots every owner plugin', async () => {
      const r = await mmsim(['boot', '--memory', '128M', '--plugins', 'hugetlb,zone-device,guest-memfd,balloon,zsmalloc', '--plugin-opt', 'zsmalloc.chainSize=4', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { plugins: string[] }).plugins).toEqual(['hugetlb', 'zone-device', 'guest-memfd', 'balloon', 'zsmalloc']);
    });

    it('rejects bad input with one line and status 1', async () => {
      expect(await badInput(['boot', '--memory', '3Q'])).toBe('mmsim: EINVAL: cannot parse size "3Q" (rule: memparse: <number>[KMGTPE])');
      expect(await badInput(['boot', '--memory', '5M'])).toMatch(/^mmsim: EINVAL: createMachine: memory 5242880 is not a multiple of 2 MiB of at least 8 MiB/);
      expect(await badInput(['boot', '--plugins', 'hugetlb,nope'])).toBe('mmsim: unknown plugin "nope" (known: hugetlb, zone-device, guest-memfd, balloon, zsmalloc)');
      expect(await badInput(['boot', '--plugins', 'balloon,balloon'])).toBe('mmsim: plugin "balloon" is named twice');
      expect(await badInput(['boot', '--nodes', 'two'])).toBe("error: option '--nodes <n>' argument 'two' is invalid. not a whole number.");
      expect(await badInput(['boot', '--nodes', '3', '--memory', '64M'])).toMatch(/^mmsim: EINVAL: createMachine: nodes 3/);
      expect(await badInput(['boot', '--strategy', 'fast'])).toMatch(/^error: option '--strategy <name>' argument 'fast' is invalid\. Allowed choices are owner-ops, mainline\./);
      expect(await badInput(['boot', '--plugin-opt', 'hugetlb'])).toMatch(/^mmsim: --plugin-opt hugetlb: expected <plugin>\.<key>=<value>/);
      expect(await badInput(['boot', '--plugin-opt', 'hugetlb.cmdline=x'])).toBe('mmsim: options given for plugin "hugetlb", which the machine does not load');
      expect(await badInput(['boot', '--plugins', 'zsmalloc', '--plugin-opt', 'zsmalloc.chainSize=99'])).toMatch(/^mmsim: EINVAL: zsmallocPlugin: chain size 99/);
      expect(await badInput(['boot', '--frobnicate'])).toBe("error: unknown option '--frobnicate'");
      expect(await badInput(['frobnicate'])).toBe("error: unknown command 'frobnicate'");
    });
  });

  describe('run, snapshot, stat', () => {
    it('runs a JSON scenario, records it, and the recorded trace replays', async () => {
      const trace = join(tmp, 'json-scenario.jsonl');
      const r = await mmsim(['run', JSON_SCENARIO, '--record', trace]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`${JSON_SCENARIO}: 12 operations on 64M, 1 node, 2 CPUs, strategy owner-ops, seed 7, plugins: none\n`);
      expect(r.stdout).toContain(`trace: ${trace} (13 lines)\n`);
      // Everything was freed and drained: MemFree = MemTotal.
      expect(r.stdout).toContain('MemTotal 64512 kB, MemFree 64512 kB');
      const lines = readFileSync(trace, 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(13);
      expect(lines.filter((l) => l.endsWith('"err":"EINVAL"}'))).toHaveLength(2); // the two expected rejections
      const rep = await mmsim(['replay', trace]);
      expect(rep.code, rep.stderr).toBe(0);
      expect(rep.stdout).toContain(`${trace}: recorded trace, 12 operations replayed, every result as recorded\n`);
    });

    it('runs a TypeScript scenario, with --seed and --strategy overriding it, as JSON', async () => {
      const r = await mmsim(['run', TS_SCENARIO, '--seed', '3', '--strategy', 'mainline', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as { operations: number; machine: Record<string, unknown>; meminfo: Record<string, number> };
      // 96 × (setCpu, folio_alloc, __folio_set_swapbacked, folio_add_lru), drain, 32 isolate (+32
      // putback), drain, one folios_put, one rejected folio_put.
      expect(j.operations).toBe(96 * 4 + 1 + 32 * 2 + 1 + 1 + 1);
      expect(j.machine).toMatchObject({ memory: '128M', seed: 3, strategy: 'mainline' });
      // 48 folios stay on the anon LRU: 6 of order 2 and 42 of order 0 (every eighth is order 2).
      expect(j.meminfo['Inactive(anon)']! + j.meminfo['Active(anon)']!).toBe((6 * 4 + 42) * 4);
    });

    it('snapshots the scenario state, which a replay of its trace reproduces file for file', async () => {
      const trace = join(tmp, 'ts-scenario.jsonl');
      expect((await mmsim(['run', TS_SCENARIO, '--record', trace])).code).toBe(0);
      const a = join(tmp, 'snap-run');
      const b = join(tmp, 'snap-replay');
      const s = await mmsim(['snapshot', TS_SCENARIO, '--out', a]);
      expect(s.code, s.stderr).toBe(0);
      expect(s.stdout).toMatch(new RegExp(`^${TS_SCENARIO}: 452 operations; wrote \\d+ files \\(\\d+ bytes\\) to ${a}\\n$`));
      const rep = await mmsim(['replay', trace, '--out', b]);
      expect(rep.code, rep.stderr).toBe(0);
      const fa = files(a);
      const fb = files(b);
      expect(fa.has('proc/meminfo') && fa.has('proc/kpageflags') && fa.has('sys/devices/system/node/node0/meminfo')).toBe(true);
      expect([...fb.keys()]).toEqual([...fa.keys()]);
      for (const [p, data] of fa) expect(Buffer.compare(data, fb.get(p)!), p).toBe(0);
      expect(await badInput(['snapshot', TS_SCENARIO, '--out', a])).toMatch(/^mmsim: EEXIST: writeSnapshot: .* is not empty/);
      expect(await badInput(['snapshot', TS_SCENARIO])).toBe("error: required option '--out <dir>' not specified");
    });

    it('stat prints meminfo, buddyinfo and vmstat as the kernel does', async () => {
      const r = await mmsim(['stat', JSON_SCENARIO]);
      expect(r.code, r.stderr).toBe(0);
      const parts = r.stdout.split(/^==> (\/proc\/\w+) <==\n/m);
      expect(parts.filter((_, i) => i % 2 === 1)).toEqual(['/proc/meminfo', '/proc/buddyinfo', '/proc/vmstat']);
      expect(parts[2]).toMatch(/^MemTotal: +64512 kB\nMemFree: +64512 kB\n/);
      expect(parts[4]).toBe(
        'Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n' +
          'Node 0, zone    DMA32      0      0      0      0      0      0      0      0      0      0     12 \n\n',
      );
      expect(parts[6]).toMatch(/^nr_free_pages 16128\n/m);
      const one = await mmsim(['stat', JSON_SCENARIO, '--file', 'buddyinfo']);
      expect(one.stdout).toBe(parts[4]!.slice(0, -1));
      const j = JSON.parse((await mmsim(['stat', JSON_SCENARIO, '--json', '--file', 'meminfo', '--file', 'vmstat'])).stdout) as Record<string, Record<string, number>>;
      expect(Object.keys(j)).toEqual(['meminfo', 'vmstat']);
      expect(j['meminfo']!['MemFree']).toBe(64512);
      // The scenario allocated 1 + 512 + 4 pages (GFP_KERNEL and GFP_TRANSHUGE fall to ZONE_DMA32).
      expect(j['vmstat']!['pgalloc_dma32']).toBe(517);
      expect(await badInput(['stat', JSON_SCENARIO, '--file', 'slabinfo'])).toBe('mmsim: --file slabinfo: not one of meminfo, buddyinfo, vmstat, zoneinfo, pagetypeinfo');
    });

    it('rejects bad scenarios with one line', async () => {
      expect(await badInput(['run', 'missing.json'])).toBe('mmsim: cannot read scenario missing.json: ENOENT');
      expect(await badInput(['run', 'missing.ts'])).toBe('mmsim: cannot read scenario missing.ts: ENOENT');
      expect(await badInput(['run', 'README.md'])).toBe('mmsim: scenario README.md: expected a .json, .ts, .mts, .js or .mjs file');
      const write = (name: string, v: unknown): string => {
        const p = join(tmp, name);
        writeFileSync(p, typeof v === 'string' ? v : JSON.stringify(v));
        return p;
      };
      expect(await badInput(['run', write('a.json', '{ "ops": [ }')])).toMatch(/^mmsim: scenario .*a\.json: not JSON/);
      expect(await badInput(['run', write('b.json', { ops: [{ args: [] }] })])).toMatch(/^mmsim: scenario .*b\.json: ops\[0\] has no "op" name$/);
      expect(await badInput(['run', write('c.json', { ops: [], extra: 1 })])).toMatch(/unknown field "extra"$/);
      expect(await badInput(['run', write('d.json', { machine: { memory: '3Q' }, ops: [] })])).toMatch(/^mmsim: EINVAL: cannot parse size "3Q"/);
      expect(await badInput(['run', write('e.json', { plugins: ['nope'], ops: [] })])).toMatch(/^mmsim: unknown plugin "nope"/);
      const badPut = write('f.json', { machine: { memory: '32M' }, ops: [{ op: 'alloc_pages', args: ['GFP_KERNEL', 0], as: 'p' }, { op: '__free_pages', args: ['$p', 0] }, { op: '__free_pages', args: ['$p', 0] }] });
      expect(await badInput(['run', badPut])).toMatch(/^mmsim: scenario .*f\.json: ops\[2\] __free_pages: EINVAL: __free_pages on a page with refcount 0 \(double free\?\)/);
      expect(await badInput(['run', write('g.json', { ops: [{ op: 'folio_get', args: ['$nothing'] }] })])).toMatch(/ops\[0\] folio_get: \$nothing names no earlier result/);
      expect(await badInput(['run', write('h.json', { ops: [{ op: 'setCpu', args: [0], expectErr: 'EINVAL' }] })])).toMatch(/ops\[0\] setCpu: expected EINVAL, returned null$/);
      expect(await badInput(['run', write('i.json', { ops: [{ op: 'alloc_pages', args: ['GFP_KERNLE', 0] }] })])).toMatch(/alloc_pages: EINVAL: alloc_pages: argument 1 is "GFP_KERNLE", not int/);
      expect(await badInput(['run', write('j.mjs', 'export default { machine: {} };')])).toMatch(/its default export has no run\(ops, m\) function$/);
    });
  });

  describe('replay', () => {
    it('imports a kernel trace, detected by its content, and reports it', async () => {
      const r = await mmsim(['replay', join(FIXTURES, 'ftrace-trace.txt'), '--memory', '256M']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('kernel trace (ftrace), 26 lines\nmachine: 256M, 1 node(s)\n');
      expect(r.stdout).toContain('events: mm_page_alloc 5 (+1 failed), mm_page_free 4, mm_page_free_batched 1 (each accompanies a traced mm_page_free)\n');
      expect(r.stdout).toContain('pre-trace frees: 2 events, 9 pages (allocated before the trace began)\n');
      expect(r.stdout).toContain('held at the end: 6 pages allocated by the trace\n');
      expect(r.stdout).toContain('lines not understood:\n  line 17: mm_page_alloc without pfn=:');
      expect(r.stdout).toContain('lost events (the trace is incomplete there):\n  line 22: 2 events lost\n');
      expect(r.stdout).toMatch(/buddyinfo before:\nNode 0, zone {6}DMA .*\nNode 0, zone {4}DMA32 .*\n\nbuddyinfo after:\n/);
      const j = JSON.parse((await mmsim(['replay', join(FIXTURES, 'perf-script.txt'), '--json'])).stdout) as { kind: string; format: string; heldAtEnd: number };
      expect(j).toMatchObject({ kind: 'kernel', format: 'perf-script', heldAtEnd: 6 });
    });

    it('rejects bad input with one line', async () => {
      expect(await badInput(['replay', 'nope.trace'])).toBe('mmsim: cannot read trace nope.trace: ENOENT');
      expect(await badInput(['replay', join(FIXTURES, 'trace-cmd-report.txt'), '--memory', '64M'])).toBe(
        'mmsim: EINVAL: trace PFN 0x83ff (line 6) lies beyond memory 64M (last PFN 0x3fff) (rule: the machine covers every traced PFN)',
      );
      const trace = join(tmp, 'tampered.jsonl');
      expect((await mmsim(['run', JSON_SCENARIO, '--record', trace])).code).toBe(0);
      expect(await badInput(['replay', trace, '--memory', '1G'])).toBe('mmsim: --memory applies to kernel traces; a recorded trace boots the machine its header describes');
      const lines = readFileSync(trace, 'utf8').split('\n');
      lines[6] = lines[6]!.replace('"ret":null', '"err":"EINVAL"');
      writeFileSync(trace, lines.join('\n'));
      expect(await badInput(['replay', trace])).toMatch(/^mmsim: trace line 7: __free_pages returned null; the trace says it threw EINVAL$/);
    });

    it('draws a progress bar on stderr only when stderr is a terminal', async () => {
      const trace = join(tmp, 'progress.jsonl');
      expect((await mmsim(['run', TS_SCENARIO, '--record', trace])).code).toBe(0);
      const plain = await mmsim(['replay', trace]);
      const tty = await mmsim(['replay', trace], true);
      const off = await mmsim(['replay', trace, '--no-progress'], true);
      expect(plain.stderr).toBe('');
      expect(off.stderr).toBe('');
      expect(tty.stderr).toContain('replay [');
      expect(tty.stderr).toContain('100% | 453/453');
      expect(tty.stdout).toBe(plain.stdout); // results never mix with the bar
      const kernel = await mmsim(['replay', join(FIXTURES, 'perf-script.txt')], true);
      expect(kernel.stderr).toContain('import (%) [');
    });
  });
});
