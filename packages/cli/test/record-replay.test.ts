import { describe, expect, it } from 'vitest';
import { injectable } from 'tsyringe';
import {
  EEXIST,
  EINVAL,
  GFP_KERNEL,
  MmError,
  ReplayableOperations,
  TraceReplayError,
  TraceReplayer,
  captureMachineState,
  createMachine,
  defineReplayableOperation,
  diffMachineState,
  formatTraceLine,
  isTraceHeader,
  parseTraceHeader,
  recordOperations,
  replayTrace,
  type FreeDispatchStrategy,
  type Machine,
  type MmPlugin,
  type Pfn,
} from '@mm/core';
import { balloonPlugin } from '@mm/balloon';
import { zsmallocPlugin } from '@mm/zsmalloc';
import { snapshotFiles } from '@mm/procfs';
import { loadPluginFactories, pluginResolver } from '../src/index.js';
import { runWorkload } from './workload.js';

const STRATEGIES: readonly FreeDispatchStrategy[] = ['owner-ops', 'mainline'];

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

function record(m: Machine, plugins: readonly string[] = []): { lines: string[]; ops: ReturnType<typeof recordOperations> } {
  const lines: string[] = [];
  return { lines, ops: recordOperations(m, (l) => lines.push(l), { plugins }) };
}

describe('record and replay', () => {
  // Both strategies, with every invariant checked on a small machine, then a longer run without checks.
  const runs = [
    ...STRATEGIES.map((strategy) => ({ strategy, memory: '24M', debugVm: true, steps: 150, compactEvery: 60 })),
    { strategy: 'mainline' as const, memory: '64M', debugVm: false, steps: 6000, compactEvery: 1500 },
  ];
  for (const run of runs) {
    it(`a replayed workload reproduces the machine byte for byte in its snapshot (${run.strategy}, ${run.memory}, debugVm ${run.debugVm})`, async () => {
      // Plugins are in the header and rebuilt by name with their pluginOptions on replay.
      const config = { memory: run.memory, cpus: 3, strategy: run.strategy, debugVm: run.debugVm, seed: 5, pluginOptions: { zsmalloc: { chainSize: 4 } } };
      const m = createMachine({ ...config, plugins: [balloonPlugin(), zsmallocPlugin({ chainSize: 4 })] });
      const { lines, ops } = record(m, ['balloon', 'zsmalloc']);
      const rejected = runWorkload(ops, { steps: run.steps, seed: 11, maxLive: 300, compactEvery: run.compactEvery, errorsPerMille: 40 });
      expect(rejected).toBeGreaterThan(0); // the trace holds "err" lines, and replay checks them
      expect(lines.filter((l) => l.includes('"err":"EINVAL"'))).toHaveLength(rejected);
      expect(lines).toHaveLength(ops.count + 1);

      const factories = await loadPluginFactories(['balloon', 'zsmalloc']);
      const r = replayTrace(lines, { resolvePlugin: pluginResolver(factories) });
      expect(r.operations).toBe(ops.count);
      expect(r.header.plugins).toEqual(['balloon', 'zsmalloc']);
      expect(r.machine.config.strategy).toBe(run.strategy);
      expect(r.machine.debugVm).toBe(run.debugVm);
      expectSameSnapshot(m, r.machine);
      expect(diffMachineState(captureMachineState(m), captureMachineState(r.machine))).toEqual([]);
    });
  }

  it('records the vmstat tick (refresh_cpu_vm_stats) and replays it to the same pcp high, count and buddy lists', () => {
    const m = createMachine({ memory: '64M', cpus: 2, debugVm: true });
    const { lines, ops } = record(m);
    const pages: Pfn[] = [];
    for (let i = 0; i < 400; i++) pages.push(ops.alloc_pages(GFP_KERNEL, 0) as Pfn);
    for (const p of pages.slice(0, 200)) ops.__free_pages(p, 0);
    const pcp = m.zones.find((z) => z.name === 'DMA32')!.per_cpu_pageset[0]!;
    const highBefore = pcp.high;
    for (let t = 0; t < 5; t++) ops.refresh_cpu_vm_stats(0);
    expect(pcp.high).toBeLessThan(highBefore);
    expect(() => ops.refresh_cpu_vm_stats(2)).toThrow(MmError); // no CPU 2: rejected, recorded as err
    expect(lines.at(-1)).toContain('"err":"EINVAL"');
    const r = replayTrace(lines);
    expect(r.operations).toBe(ops.count);
    expect(diffMachineState(captureMachineState(m), captureMachineState(r.machine))).toEqual([]);
  });

  it('writes the header first, then one line per call: ret, or err for a rejected call', () => {
    const m = createMachine({ memory: '32M', seed: 3 });
    const { lines, ops } = record(m);
    const f = ops.folio_alloc(GFP_KERNEL, 0);
    ops.folio_put(f as number as never);
    expect(() => ops.folio_put(f as never)).toThrow(MmError);
    expect(isTraceHeader(lines[0]!)).toBe(true);
    const h = parseTraceHeader(lines[0]!);
    expect(h.machine).toMatchObject({ memory: '32M', nodes: 1, cpus: 2, seed: 3, strategy: 'owner-ops' });
    expect(h.plugins).toEqual([]);
    expect(lines.slice(1)).toEqual([
      `{"op":"folio_alloc","args":[${GFP_KERNEL},0],"ret":${f}}`,
      `{"op":"folio_put","args":[${f}],"ret":null}`,
      `{"op":"folio_put","args":[${f}],"err":"EINVAL"}`,
    ]);
    // formatTraceLine writes the same text (for model checkers that print their own traces).
    expect(formatTraceLine({ op: 'folio_put', args: [f], err: 'EINVAL' })).toBe(lines[3]);
    expect(formatTraceLine({ op: 'folio_put', args: [f], ret: null, task: 2 })).toBe(`{"op":"folio_put","args":[${f}],"ret":null,"task":2}`);
  });

  it('rejects bad arguments before anything changes, and records the rejection', () => {
    const m = createMachine({ memory: '32M', debugVm: true });
    const { lines, ops } = record(m);
    const before = captureMachineState(m);
    expect(() => ops.call('folio_alloc', 'x', 0)).toThrow(/argument 1 is "x", not int/);
    expect(() => ops.call('folio_put')).toThrow(/argument 1 is undefined, not folio/);
    expect(() => ops.call('setCpu', 2)).toThrow(/setCpu\(2\) on a machine with 2 CPUs/);
    expect(() => ops.call('folios_put', [1, 'a'])).toThrow(MmError);
    expect(() => ops.call('drain_all_pages', 99)).toThrow(/not a zone id/);
    expect(() => ops.call('folio_get', 1, 2)).toThrow(/2 arguments, at most 1/);
    expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
    expect(lines.slice(1).every((l) => l.endsWith('"err":"EINVAL"}'))).toBe(true);
    // An unknown operation is not an operation: nothing is recorded for it.
    expect(() => ops.call('no_such_op')).toThrow(/no replayable operation "no_such_op"/);
    expect(lines).toHaveLength(7);
  });

  it('replay names the first line whose outcome differs', () => {
    const m = createMachine({ memory: '32M' });
    const { lines, ops } = record(m);
    const a = ops.folio_alloc(GFP_KERNEL, 0);
    ops.folio_get(a as never);
    ops.folio_put(a as never);
    expect(() => ops.folio_unlock(a as never)).toThrow(MmError);
    const blank = ['', ...lines.slice(0, 2), '', ...lines.slice(2)]; // blank lines count, and are skipped
    expect(replayTrace(blank).operations).toBe(4);

    const tampered = [...lines];
    tampered[1] = tampered[1]!.replace(`"ret":${a}`, `"ret":${(a as number) + 1}`);
    expect(() => replayTrace(tampered)).toThrow(new TraceReplayError(2, `folio_alloc returned ${a}; the trace says it returned ${(a as number) + 1}`));
    const wrongErr = [...lines];
    wrongErr[4] = wrongErr[4]!.replace('EINVAL', 'EBUSY');
    expect(() => replayTrace(wrongErr)).toThrow(/^trace line 5: folio_unlock threw EINVAL: folio_unlock of an unlocked folio/);
    const notRejected = [...lines];
    notRejected[3] = notRejected[3]!.replace('"ret":null', '"err":"EINVAL"');
    expect(() => replayTrace(notRejected)).toThrow(/^trace line 4: folio_put returned null; the trace says it threw EINVAL$/);
    expect(() => replayTrace([lines[0]!, '{"op":"nope","args":[]}'])).toThrow(/^trace line 2: unknown operation "nope"/);
    expect(() => replayTrace([lines[0]!, 'folio_put 4096'])).toThrow(/^trace line 2: not JSON$/);
    // Lines off the recorder's exact shape are read by JSON.parse, with the same meaning.
    for (const ok of ['{"op":"setCpu","args":[1.0],"ret":null}', '{"op":"setCpu","args":[1e0],"ret":null}', ' {"op": "setCpu", "args": [1], "ret": null} ', '{"args":[1],"op":"setCpu","ret":null}', '{"op":"setCpu","args":[1],"ret":null,"task":"A"}']) {
      expect(replayTrace([lines[0]!, ok]).machine.cpu, ok).toBe(1);
    }
    expect(() => replayTrace([lines[0]!, '{"op":"setCpu","args":[01],"ret":null}'])).toThrow(/^trace line 2: not JSON$/);
    expect(() => replayTrace([lines[0]!, '{"op":"setCpu","args":[1],"ret":null}x'])).toThrow(/^trace line 2: not JSON$/);
    expect(() => replayTrace([lines[0]!, '{"op":"setCpu","args":[-1],"ret":null}'])).toThrow(/^trace line 2: setCpu threw EINVAL: setCpu\(-1\)/);
    expect(() => replayTrace([lines[0]!, '{"op":"setCpu","args":[1],"ret":false}'])).toThrow(/^trace line 2: setCpu returned null; the trace says it returned false$/);
    expect(() => replayTrace([lines[0]!, '{"op":"folio_put"}'])).toThrow(/^trace line 2: not an operation line/);
    expect(() => replayTrace(['', '{"mmsim":"trace","version":2,"machine":{},"plugins":[]}'])).toThrow(/^trace line 2: EINVAL: not an mmsim trace header: version 2/);
    expect(() => replayTrace(['{"mmsim":"trace","version":1,"machine":{"memory":"3Q"},"plugins":[]}'])).toThrow(/^trace line 1: EINVAL: cannot parse size "3Q"/);
    expect(() => replayTrace(['{"mmsim":"trace","version":1,"machine":{},"plugins":["balloon"]}'])).toThrow(/^trace line 1: the trace needs plugins \(balloon\)/);
    expect(() => replayTrace([])).toThrow(/^trace line 1: empty trace/);
  });

  it('a VM_BUG is recorded with its invariant and replays to the same invariant', () => {
    // PG_head on an order-0 page breaks §1.1 (a head has order ≥ 1): the next checked call finds it.
    const m = createMachine({ memory: '24M', debugVm: true });
    const { lines, ops } = record(m);
    const f = ops.folio_alloc(GFP_KERNEL, 0) as number;
    expect(() => ops.call('folio_set_head', f)).not.toThrow(); // flag setters do not run the checker
    expect(() => ops.folio_get(f as never)).toThrow(/VM_BUG/);
    expect(lines[3]).toBe(`{"op":"folio_get","args":[${f}],"bug":"§1.1 head"}`);
    expect(replayTrace(lines).operations).toBe(3);
  });

  it("plugins add operations through the ReplayableOperations token; names must be unique", () => {
    @injectable()
    class Counter {
      n = 0;
    }
    const counterPlugin = (name = 'counter'): MmPlugin => ({
      meta: { name, version: '0' },
      register(c) {
        c.registerSingleton(Counter);
        c.register(ReplayableOperations, {
          useFactory: (x) => {
            const counter = x.resolve(Counter);
            return { operations: [defineReplayableOperation('counterAdd', ['int'], (_m, k) => (counter.n += k))] };
          },
        });
      },
    });
    const m = createMachine({ memory: '32M', plugins: [counterPlugin()] });
    const { lines, ops } = record(m, ['counter']);
    expect(ops.call('counterAdd', 2)).toBe(2);
    expect(ops.call('counterAdd', 3)).toBe(5);
    expect(() => ops.call('counterAdd', 1.5)).toThrow(/not int/);
    expect(lines.slice(1)).toEqual(['{"op":"counterAdd","args":[2],"ret":2}', '{"op":"counterAdd","args":[3],"ret":5}', '{"op":"counterAdd","args":[1.5],"err":"EINVAL"}']);
    const r = replayTrace(lines, { resolvePlugin: (name) => counterPlugin(name) });
    expect(r.machine.container.resolve(Counter).n).toBe(5);
    // Stepwise replay: the same checks, one line at a time.
    const rep = new TraceReplayer(lines[0]!, { resolvePlugin: (name) => counterPlugin(name) });
    lines.slice(1).forEach((l, i) => rep.step(l, i + 2));
    expect(rep.operations).toBe(3);

    const clash: MmPlugin = {
      meta: { name: 'clash', version: '0' },
      register(c) {
        c.register(ReplayableOperations, { useValue: { operations: [defineReplayableOperation('folio_put', [], () => 0)] } });
      },
    };
    const m2 = createMachine({ memory: '32M', plugins: [clash] });
    try {
      recordOperations(m2, null);
      expect.unreachable();
    } catch (e) {
      expect((e as MmError).errno).toBe(EEXIST);
    }
  });

  it('without a sink the ops object only applies operations', () => {
    const m = createMachine({ memory: '32M' });
    const ops = recordOperations(m, null);
    const f = ops.alloc_pages(GFP_KERNEL, 1);
    expect(f).not.toBe(-1);
    ops.__free_pages(f as never, 1);
    expect(ops.count).toBe(2);
    try {
      ops.__free_pages(f as never, 1);
      expect.unreachable();
    } catch (e) {
      expect((e as MmError).errno).toBe(EINVAL);
    }
  });
});
