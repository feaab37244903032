import { container as rootContainer } from 'tsyringe';
import { FolioOwnerOps } from '../folio/owner-ops.js';
import { migrationCoreInit } from '../migrate/migration-init.js';
import { MovableOperations, set_movable_ops } from '../migrate/movable-ops.js';
import { mm_core_init } from './boot.js';
import { resolveMachineConfig, type MachineConfig } from './config.js';
import { Machine } from './machine.js';
import { InvariantCheck } from './plugin.js';

/**
 * Boot one simulated host: lay out and initialise memory, free it into the buddy allocator, create
 * the machine's own DI child container, let each plugin register its providers, install every
 * {@link FolioOwnerOps} and {@link MovableOperations} provider and every {@link InvariantCheck}, then
 * run the plugins' `init`. Nothing global is written: two machines never see each other.
 *
 * `reflect-metadata` must have been imported by the application before tsyringe is loaded.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { createMachine, frag_show } from '@mm/core';
 *
 * // 256 MiB on one node and two CPUs, invariants checked after every operation.
 * const m = createMachine({ memory: '256M', cpus: 2, debugVm: true });
 * console.log(m.zones.map((z) => `${z.name}: ${z.managed_pages} pages`).join(', ')); // DMA: 3840 pages, DMA32: 61440 pages
 * process.stdout.write(frag_show(m)); // /proc/buddyinfo
 * ```
 */
export function createMachine(config: MachineConfig = {}): Machine {
  const m = new Machine(resolveMachineConfig(config));
  mm_core_init(m);
  migrationCoreInit(m);
  const c = (config.parentContainer ?? rootContainer).createChildContainer();
  m.container = c;
  c.registerInstance(Machine, m);
  const plugins = config.plugins ?? [];
  m.pluginNames = plugins.map((p) => p.meta.name);
  for (const p of plugins) p.register(c);
  for (const ops of resolveAll<FolioOwnerOps>(m, FolioOwnerOps)) m.ownerOps.install(ops);
  m.mainlineBranches = m.ownerOps
    .all()
    .filter((o) => o.mainline !== undefined)
    .sort((a, b) => a.mainline!.order - b.mainline!.order);
  for (const ops of resolveAll<MovableOperations>(m, MovableOperations)) set_movable_ops(m, ops, ops.pageType);
  m.invariantChecks.push(...resolveAll<InvariantCheck>(m, InvariantCheck));
  for (const p of plugins) p.init?.(m);
  if (m.debugVm) m.checkInvariants('boot');
  return m;
}

function resolveAll<T>(m: Machine, token: symbol): T[] {
  return m.container.isRegistered(token, true) ? m.container.resolveAll<T>(token) : [];
}
