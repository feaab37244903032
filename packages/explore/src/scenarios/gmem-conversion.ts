import { EAGAIN, EFAULT, lru_add_drain_all, type Folio, type Machine } from '@mm/core';
import {
  FOLL_PIN,
  GMEM_PRIVATE,
  GUEST_MEMFD_FLAG_INIT_SHARED,
  GUEST_MEMFD_FLAG_MMAP,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  NO_FOLIO,
  folioAt,
  folio_maybe_dma_pinned,
  gup_put_folio,
  handle_mm_fault,
  kvm_create_vm,
  kvm_gmem_create,
  kvm_gmem_mmap,
  kvm_gmem_set_attributes,
  try_grab_folio,
  unmap_mapping_pages,
  type GmemConversion,
  type GmemFile,
  type VmAreaStruct,
} from '@mm/guest-memfd';
import { wholePutWalkers } from '../tasks/rcu-walker-whole-put.js';
import type { TaskSteps } from '../tasks/task.js';
import { checkNothingLeaked, onScenarioTrace } from './scenario-checks.js';
import type { Scenario, ScenarioParams } from './scenario.js';

const PAGE = 4096;

/**
 * (d) guest_memfd shared→private conversion racing a GUP pin and unpin (`virt/kvm/guest_memfd.c`,
 * `mm/gup.c`), under both conversion designs (variant `synchronous`: the in-place conversion being
 * merged, `-EAGAIN` while the host holds references; `deferred`: the 2024 plan behind series 1, the
 * refcount-0 callback completes a pending conversion). A one-page guest_memfd (`MMAP | INIT_SHARED`),
 * mmapped by the host and faulted in. Task `convert` is `KVM_SET_MEMORY_ATTRIBUTES2` to private:
 * `filemap_invalidate_lock` (exclusive), `unmap_mapping_pages` (the zap and its TLB flush), the
 * refcount check and attribute store (`kvm_gmem_set_attributes`), `filemap_invalidate_unlock`; on
 * `-EAGAIN` user space waits for its own pins to go and retries. Task `gup` is `pin_user_pages`
 * followed by `unpin_user_page`: GUP-fast first — a lockless read of the PTE, then `try_grab_folio`
 * and the re-check that the PTE did not change (else the pin is dropped) — and, when that fails, the
 * slow path: `faultin_page` (`kvm_gmem_fault_user_mapping` under `filemap_invalidate_lock_shared`,
 * SIGBUS on a private index: the pin fails) and `follow_page_pte` (grab under the PTL, or fault
 * again). The unpin (`gup_put_folio`: subtract `GUP_PIN_COUNTING_BIAS`, and `__folio_put` — the
 * deferred design's callback — if that reached 0) is one step: `@mm/guest-memfd`'s §6 invariant
 * rejects a pending folio at refcount 0 whose callback has not run yet, the state between the two;
 * for the same reason the injected RCU walkers (`params.walkers`, on the folio: speculative references
 * the deferred design must tolerate, whose put may complete the conversion) drop theirs in one step
 * (`rcuWalkerWholePutTask`).
 *
 * Kernel rules checked: `@mm/guest-memfd`'s §6 invariants after every step (a private folio in the
 * page cache is never mapped into host user space nor pinned; a pending folio is out of the cache and
 * marked for the callback); the conversion completes exactly once — the request succeeding with
 * nothing pending, or the callback completing it — and the refcount-0 callback runs at most once; at
 * the end the index is private, nothing is pending, and the folio is back to its rule: in the page
 * cache at refcount 1 (its page-cache reference), unmapped, unpinned.
 *
 * Abstraction: GUP-fast's grab and its PTE re-check are one step. In the kernel another CPU can zap
 * and check the refcount between them; it then sees the transient pin (`-EAGAIN`, or a pending
 * conversion) that GUP-fast drops a moment later — `@mm/guest-memfd`'s §6.2 invariant, checked after
 * every step, would report that transient pin on a private folio, which the kernel tolerates because
 * the page is never accessed through it. The ordering (clear the PTE, then read the refcount; take the
 * reference, then re-read the PTE) needs full barriers on both sides; the model is sequentially
 * consistent — ask herd7/LKMM about the barriers.
 *
 * Fix switch: `gup_fast_pte_recheck`. Off, GUP-fast keeps a pin it took on a page whose PTE was zapped
 * after it read it: the conversion, having found no extra reference, made the page private, and the
 * host now holds a pin on private memory.
 */
export const gmemConversionScenario: Scenario = {
  name: 'gmem-conversion',
  description: 'guest_memfd shared→private conversion racing a GUP pin and unpin',
  plugins: ['guest-memfd'],
  fixSwitch: 'gup_fast_pte_recheck',
  variants: ['deferred', 'synchronous'],
  machine: (p: ScenarioParams) => ({ memory: '8M', cpus: 4, strategy: p.strategy ?? 'owner-ops' }),
  setup(m: Machine, p: ScenarioParams) {
    const conversion = (p.variant ?? 'deferred') as GmemConversion;
    const recheck = p.fix !== false;
    const file: GmemFile = kvm_gmem_create(m, kvm_create_vm(m), PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, { conversion });
    const vma = kvm_gmem_mmap(m, file, 0, 1) as VmAreaStruct;
    handle_mm_fault(m, vma, 0);
    lru_add_drain_all(m); // the folio's lru_add batch reference: the conversion would drain it anyway
    const folio = folioAt(file, 0) as Folio;
    /** `filemap_invalidate_lock`: 0 free, -1 held for writing (the conversion). */
    let invalidateLock = 0;
    let completions = 0;
    onScenarioTrace(m, 'kvm_gmem_conversion_done', () => {
      completions++;
    });
    const gmem = file.gmem;
    const freeCallsBefore = gmem.freeCalls;
    return {
      summary: { folio, conversion },
      walkerTargets: [], // its own walkers: see rcuWalkerWholePutTask
      tasks: [
        {
          name: 'convert',
          *start(mm: Machine): TaskSteps {
            for (;;) {
              while (invalidateLock !== 0) yield 'filemap_invalidate_lock (blocked)';
              invalidateLock = -1;
              yield 'filemap_invalidate_lock';
              unmap_mapping_pages(mm, file, 0, 1);
              yield 'unmap_mapping_pages: zap, flush the TLB';
              const args = { offset: 0, size: PAGE, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: 0, error_offset: 0 };
              const rc = kvm_gmem_set_attributes(mm, file, args);
              if (rc === 0 && file.pending.size === 0) completions++;
              yield `__kvm_gmem_set_attributes: ${rc === 0 ? (file.pending.size === 0 ? 'private' : 'pending') : '-EAGAIN'}`;
              invalidateLock = 0;
              if (rc !== -EAGAIN) return rc;
              yield 'filemap_invalidate_unlock';
              // User space drops its own references, then retries.
              while (mm.memmap.refcount[folio] !== 1) yield 'KVM_SET_MEMORY_ATTRIBUTES2 returned -EAGAIN: wait for the pins to go (blocked)';
            }
          },
        },
        {
          name: 'gup',
          *start(mm: Machine): TaskSteps {
            let pinned: Folio | null = null;
            // GUP-fast: no lock, interrupts off.
            const pte = vma.ptes[0]!;
            yield 'gup_fast: READ_ONCE(pte)';
            if (pte >= 0 && try_grab_folio(mm, pte as Folio, 1, FOLL_PIN) === 0) {
              if (recheck && vma.ptes[0] !== pte) gup_put_folio(mm, pte as Folio, 1, FOLL_PIN);
              else pinned = pte as Folio;
              yield recheck ? 'gup_fast: try_grab_folio, pte unchanged?' : 'gup_fast: try_grab_folio';
            }
            // The slow path: fault the page in under the invalidate lock, grab it under the PTL.
            while (pinned === null) {
              while (invalidateLock === -1) yield 'faultin_page: filemap_invalidate_lock_shared (blocked)';
              const fault = handle_mm_fault(mm, vma, 0);
              yield `faultin_page: kvm_gmem_fault_user_mapping${fault === 0 ? '' : ' → SIGBUS'}`;
              if (fault !== 0) return -EFAULT; // nothing pinned
              const page = vma.ptes[0]!;
              if (page >= 0 && try_grab_folio(mm, page as Folio, 1, FOLL_PIN) === 0) pinned = page as Folio;
              yield `follow_page_pte (PTL): ${pinned === null ? 'no PTE, fault again' : 'try_grab_folio'}`;
            }
            // unpin_user_page: gup_put_folio → folio_put_refs(GUP_PIN_COUNTING_BIAS), one step.
            gup_put_folio(mm, pinned, 1, FOLL_PIN);
            yield 'unpin_user_page';
            return 1;
          },
        },
        ...wholePutWalkers(p.walkers ?? 0, [folio]),
      ],
      check(mm: Machine, done: boolean) {
        // §6.2, after every step (the explorer's per-step check covers the core's pages and counters).
        const cached = folioAt(file, 0);
        if (file.attributes[0] === GMEM_PRIVATE && cached !== NO_FOLIO && (folio_maybe_dma_pinned(mm, cached as Folio) || mm.memmap.mapcount[cached] !== -1 || vma.ptes[0]! >= 0)) {
          mm.vmBug('§6.2 private unmapped', `guest_memfd ${file.ino} index 0: private folio mapped or pinned by the host`, cached);
        }
        if (completions > 1) mm.vmBug('explore: conversion once', `the conversion completed ${completions} times`, folio);
        if (gmem.freeCalls - freeCallsBefore > 1) mm.vmBug('§2.1 callback once', `kvm_gmem_handle_folio_put ran ${gmem.freeCalls - freeCallsBefore} times`, folio);
        if (!done) return;
        if (completions !== 1) mm.vmBug('explore: conversion once', `the conversion completed ${completions} times after every task finished`, folio);
        const f = folioAt(file, 0);
        if (file.attributes[0] !== GMEM_PRIVATE || file.pending.size !== 0 || f === NO_FOLIO) {
          mm.vmBug('explore: conversion done', `index 0 attribute ${file.attributes[0]}, ${file.pending.size} pending, folio ${f}`, folio);
        }
        if (mm.memmap.refcount[f] !== 1 || mm.memmap.mapcount[f] !== -1 || folio_maybe_dma_pinned(mm, f as Folio)) {
          mm.vmBug('explore: refcount rule', `private folio ${f}: refcount ${mm.memmap.refcount[f]} (want 1, the page cache), mapcount ${mm.memmap.mapcount[f]! + 1}`, f);
        }
        checkNothingLeaked(mm, folio, null);
      },
      // The VM, file and VMA are guest_memfd state (checkpointed in place); the lock and count are ours.
      restart: () => {
        invalidateLock = 0;
        completions = 0;
      },
      hashExtra: () => completions * 31 + invalidateLock * 7 + file.pending.size * 131 + file.attributes[0]! * 1031,
    };
  },
};
