import { describe, expect, it } from 'vitest';
import {
  GFP,
  GFP_HIGHUSER_MOVABLE,
  PG,
  __alloc_pages,
  __free_pages,
  asPfn,
  captureMachineState,
  createMachine,
  diffMachineState,
  restoreMachineCheckpoint,
  saveMachineCheckpoint,
} from '@mm/core';

describe('machine checkpoints (core)', () => {
  it('restore puts every core word back, and a memmap grown after the save frees order-9 tails as the kernel does', () => {
    const m = createMachine({ memory: '64M' });
    const booted = captureMachineState(m);
    const cp = saveMachineCheckpoint(m);
    // memremap_pages grows the memmap (a new array) after the save; the restore brings the old size back.
    m.memmap.grow(m.memmap.nrPages + 4096);
    const p = __alloc_pages(m, GFP_HIGHUSER_MOVABLE, 0) as number;
    expect(p).toBeGreaterThanOrEqual(0);
    restoreMachineCheckpoint(m, cp);
    expect(diffMachineState(booted, captureMachineState(m))).toEqual([]);
    // free_pages_prepare clears PAGE_FLAGS_CHECK_AT_PREP on every tail (mm/page_alloc.c): PG_referenced
    // set on tail 100 of an order-9 compound block must be gone after the free.
    const head = __alloc_pages(m, GFP_HIGHUSER_MOVABLE | GFP.__GFP_COMP, 9) as number;
    expect(head).toBeGreaterThanOrEqual(0);
    m.memmap.flags[head + 100]! |= 1 << PG.referenced;
    __free_pages(m, asPfn(head), 9);
    expect(m.memmap.flags[head + 100]! & (1 << PG.referenced)).toBe(0);
    expect(m.nrBadPages).toBe(0);
  });
});
