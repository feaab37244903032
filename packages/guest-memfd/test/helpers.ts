import { NR_NODE, NR_ZONE, createMachine, type FreeDispatchStrategy, type Machine, type MmPlugin } from '@mm/core';
import { expect } from 'vitest';
import { GMEM_PENDING, folioAt, guestMemfdPlugin, type GmemFile } from '../src/index.js';

/** Both `__folio_put` strategies: every scenario runs under each. */
export const STRATEGIES: FreeDispatchStrategy[] = ['owner-ops', 'mainline'];

/** A small machine with guest_memfd and CONFIG_DEBUG_VM checks after every operation. */
export function machine(strategy: FreeDispatchStrategy, plugins: MmPlugin[] = [], extra: Record<string, unknown> = {}): Machine {
  return createMachine({ memory: '64M', cpus: 2, debugVm: true, strategy, plugins: [guestMemfdPlugin(), ...plugins], ...extra });
}

/** Free pages: buddy lists plus per-CPU lists. */
export function freePages(m: Machine): number {
  let n = 0;
  for (const z of m.zones) {
    n += z.vmstat[NR_ZONE.nr_free_pages]!;
    for (const p of z.per_cpu_pageset) n += p.count;
  }
  return n;
}

/** Node 0's counter `name`. */
export function nodeStat(m: Machine, name: keyof typeof NR_NODE): number {
  return m.nodes.reduce((s, n) => s + n.vmstat[NR_NODE[name]]!, 0);
}

/** What a file looks like from outside: per index attribute, folio, refcount, pending/guest flags. */
export function fileState(m: Machine, f: GmemFile): string[] {
  const out: string[] = [];
  for (let i = 0; i < f.nrPages; i++) {
    const folio = folioAt(f, i);
    out.push(`${i}:${f.attributes[i]}:${folio}:${folio < 0 ? '-' : m.memmap.refcount[folio]}:${f.indexFlags[i]}`);
  }
  return out;
}

/** Expect `fn` to throw an MmError with `errno`. */
export function expectErrno(fn: () => unknown, errno: number): void {
  let err: unknown = null;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an MmError').not.toBeNull();
  expect((err as { name: string }).name).toBe('MmError');
  expect((err as { errno: number }).errno).toBe(errno);
}

/** Pending indices of a file. */
export function pendingIndices(f: GmemFile): number[] {
  const out: number[] = [];
  for (let i = 0; i < f.nrPages; i++) if ((f.indexFlags[i]! & GMEM_PENDING) !== 0) out.push(i);
  return out;
}
