import {
  ListHead,
  MIGRATE_MODE,
  MR,
  NR_NODE,
  folio_get,
  folio_nid,
  folio_put,
  folio_test_hugetlb,
  isolate_folio_to_list,
  putback_movable_pages_steps,
  unmap_and_move_huge_page,
  type Folio,
  type Machine,
} from '@mm/core';
import {
  FAULT_FLAG_WRITE,
  do_munmap,
  hugetlbNewMm,
  hugetlbOf,
  hugetlb_fault,
  hugetlbfs_create,
  hugetlbfs_file_mmap,
  hugetlbfs_mount,
  node_states_memory,
  set_max_huge_pages,
  type HugetlbfsSbInfo,
  type VmAreaStruct,
} from '@mm/hugetlb';
import { wholePutWalkers } from '../tasks/rcu-walker-whole-put.js';
import type { TaskSteps } from '../tasks/task.js';
import { checkNothingLeaked, onScenarioTrace } from './scenario-checks.js';
import type { Scenario, ScenarioParams } from './scenario.js';

/**
 * (c) A hugetlb folio isolated for migration while its last mapping goes away (`mm/hugetlb.c`,
 * `mm/migrate.c`, series 1 patches 1–6 and 10). A pool of two 2 MiB folios; one is faulted into a
 * private (anonymous) hugetlbfs mapping, so the mapping holds its only reference. Task `munmap` zaps
 * the mapping — one step under the page-table lock: the PTE is cleared, the rmap removed and the
 * reference handed to the mmu_gather (modelled as `folio_get` + `do_munmap`, whose own put is the
 * mapping's) — then `tlb_finish_mmu` drops it (`folio_put`, one step: the decrement and
 * `__folio_put`; see below). Task
 * `migrate` (memory offlining's `do_migrate_range`) isolates the folio (`isolate_folio_to_list` →
 * `folio_isolate_hugetlb`, one step under `hugetlb_lock`: `folio_try_get`, `migratable` and — series 1
 * — the owner ops cleared, `lru` on the caller's list), migrates it (`unmap_and_move_huge_page`, one
 * step: the kernel holds the folio lock throughout; a refcount of 1 means "freed under us" and only
 * puts it back; else it moves the folio to the other pool folio and puts the source back) and puts
 * back what is left (`folio_putback_hugetlb`).
 *
 * Kernel rule checked: the owner ops (`free_huge_folio`, reached through `folio_owner_ops` or
 * mainline's hugetlb branch of `__folio_put`) never run while the folio is isolated — the isolation
 * reference keeps it above 0, and the putback restores the owner ops under `hugetlb_lock` before its
 * `folio_put` — and every folio freed goes back to the pool through them (never to the page
 * allocator), exactly once per 1→0. At the end both folios are free in the pool, none isolated,
 * NR_HUGETLB and NR_ISOLATED_* are 0, no bad page.
 *
 * Abstraction: a hugetlb folio's final put is one step here. In the kernel the folio sits on the
 * active list at refcount 0 between the atomic decrement and `free_huge_folio` taking `hugetlb_lock`
 * (a TRANSIENT folio, §4.2); `@mm/hugetlb`'s §4.1 invariant, checked after every step, rejects an
 * ACTIVE folio at refcount 0, so the explorer cannot stop there. What an isolation in that window
 * does — `folio_try_get` fails at 0 — is the rule `tryget-final-put` explores. For the same reason the
 * injected RCU walkers (`params.walkers`, on the folio) drop their reference in one step
 * (`rcuWalkerWholePutTask`): a walker's put can be the folio's last.
 *
 * No fix switch: the series has none for this. Its mechanism is structural — `folio->lru` carries the
 * owner ops only while the folio is not isolated, so isolation must clear them before it links `lru`
 * into the migration list — and a variant "isolation keeps the owner ops" is not a kernel that ever
 * existed (the list link would overwrite them at once). The explorer checks that the design holds
 * in every interleaving.
 */
export const hugetlbIsolationScenario: Scenario = {
  name: 'hugetlb-isolation',
  description: 'a hugetlb folio isolated for migration while its last mapping goes away',
  plugins: ['hugetlb'],
  fixSwitch: null,
  variants: [],
  machine: (p: ScenarioParams) => ({ memory: '8M', cpus: 4, strategy: p.strategy ?? 'owner-ops' }),
  setup(m: Machine, p: ScenarioParams) {
    const pool = hugetlbOf(m);
    const h = pool.default_hstate;
    set_max_huge_pages(m, h, 2, -1, node_states_memory(m));
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const vma = hugetlbfs_file_mmap(m, hugetlbNewMm(m), hugetlbfs_create(m, sb, 'explore'), { length: 2 << 20, shared: false }) as VmAreaStruct;
    hugetlb_fault(m, vma, vma.vm_start, FAULT_FLAG_WRITE);
    const folio = vma.ptes[0]! as Folio;
    // Every hugetlb folio that reaches refcount 0: who frees it, and whether it was isolated then.
    const frees: { folio: number; owner: string; isolated: boolean }[] = [];
    onScenarioTrace(m, 'folio_freed', (e) => {
      if (folio_test_hugetlb(m, e.folio as Folio)) frees.push({ folio: e.folio, owner: e.owner, isolated: pool.isolated.has(e.folio) });
    });
    return {
      summary: { folio, nr_huge_pages: h.nr_huge_pages, free_huge_pages: h.free_huge_pages },
      walkerTargets: [], // its own walkers: see the abstraction above
      tasks: [
        {
          name: 'munmap',
          *start(mm: Machine): TaskSteps {
            const mapped = vma.ptes[0]! as Folio; // migration may have replaced it
            folio_get(mm, mapped); // the reference the mmu_gather batch now holds
            do_munmap(mm, vma);
            yield 'zap_huge_pte (PTL): clear the PTE, hugetlb_remove_rmap, tlb_remove_page';
            folio_put(mm, mapped);
            return 'tlb_finish_mmu: folio_put';
          },
        },
        {
          name: 'migrate',
          *start(mm: Machine): TaskSteps {
            const from = new ListHead();
            const ret = new ListHead();
            if (!isolate_folio_to_list(mm, folio, from)) return -1;
            yield 'folio_isolate_hugetlb (hugetlb_lock)';
            const getNew = (src: Folio): Folio | -1 => mm.hooks.alloc_hugetlb_migration_target!(src, folio_nid(mm, src));
            const rc = unmap_and_move_huge_page(mm, getNew, null, undefined, folio, false, MIGRATE_MODE.MIGRATE_SYNC, MR.MR_MEMORY_HOTPLUG, from, ret);
            yield 'unmap_and_move_huge_page (folio lock held)';
            if (!from.empty) yield* putback_movable_pages_steps(mm, from);
            if (!ret.empty) yield* putback_movable_pages_steps(mm, ret);
            return rc;
          },
        },
        ...wholePutWalkers(p.walkers ?? 0, [folio]),
      ],
      check(mm: Machine, done: boolean) {
        for (const f of frees) {
          if (f.isolated) mm.vmBug('§2.5 owner ops not while isolated', `folio ${f.folio} freed (${f.owner}) while isolated for migration`, f.folio);
          if (f.owner !== 'hugetlb') mm.vmBug('§4.1 hugetlb states', `hugetlb folio ${f.folio} freed through ${f.owner}, not free_huge_folio`, f.folio);
        }
        if (!done) return;
        if (pool.isolated.size !== 0) mm.vmBug('§4.1 hugetlb states', `${pool.isolated.size} folio(s) still isolated after every task finished`, folio);
        if (h.free_huge_pages !== h.nr_huge_pages || h.nr_huge_pages !== 2) {
          mm.vmBug('§4.2 hugetlb counters', `nr_huge_pages ${h.nr_huge_pages}, free_huge_pages ${h.free_huge_pages} after every task finished (want 2, 2)`, folio);
        }
        const inUse = mm.nodes.reduce((n, nd) => n + nd.vmstat[NR_NODE.nr_hugetlb]!, 0);
        if (inUse !== 0) mm.vmBug('§4.2 hugetlb counters', `NR_HUGETLB ${inUse} after every task finished`, folio);
        checkNothingLeaked(mm, folio, null);
      },
      // The mount, file, process and VMA are hugetlb state (checkpointed in place); the frees are ours.
      restart: () => {
        frees.length = 0;
      },
      hashExtra: () => frees.length * 31 + pool.isolated.size * 7 + h.free_huge_pages,
    };
  },
};
