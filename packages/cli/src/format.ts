import { NR_ZONE, PAGE_SIZE, type Machine } from '@mm/core';

/**
 * Text and JSON views of a machine that several commands print.
 *
 * @module
 */

/** One zone's `/proc/buddyinfo` line as JSON. */
export interface BuddyinfoJson {
  /** Node id. */
  readonly node: number;
  /** Zone name. */
  readonly zone: string;
  /** Free blocks of each order. */
  readonly nr_free: readonly number[];
}

/** `/proc/buddyinfo` as JSON. */
export function buddyinfoJson(m: Machine): BuddyinfoJson[] {
  return m.zones.map((z) => ({ node: z.nid, zone: z.name, nr_free: Array.from(z.nr_free) }));
}

/** One zone of a machine, as `mmsim boot` describes it. */
export interface ZoneJson {
  /** Node id. */
  readonly node: number;
  /** Zone name. */
  readonly zone: string;
  /** The zone's id (the top byte of its pages' flags), as replayable operations take it. */
  readonly id: number;
  /** First PFN. */
  readonly start_pfn: number;
  /** One past the last PFN. */
  readonly end_pfn: number;
  /** `present_pages`. */
  readonly present_pages: number;
  /** `managed_pages`. */
  readonly managed_pages: number;
  /** NR_FREE_PAGES. */
  readonly free_pages: number;
}

/** The machine's zones. */
export function zonesJson(m: Machine): ZoneJson[] {
  return m.zones.map((z) => ({
    node: z.nid,
    zone: z.name,
    id: z.id,
    start_pfn: z.zone_start_pfn,
    end_pfn: z.zone_end_pfn,
    present_pages: z.present_pages,
    managed_pages: z.managed_pages,
    free_pages: z.vmstat[NR_ZONE.nr_free_pages]!,
  }));
}

/** One line describing the machine: `256M, 1 node, 2 CPUs, strategy owner-ops, seed 1, plugins: none`. */
export function machineLine(m: Machine, plugins: readonly string[]): string {
  const c = m.config;
  const mib = (c.nrPages * PAGE_SIZE) / 2 ** 20;
  const size = mib % 1024 === 0 ? `${mib / 1024}G` : `${mib}M`;
  return `${size}, ${c.nodes} node${c.nodes === 1 ? '' : 's'}, ${c.cpus} CPU${c.cpus === 1 ? '' : 's'}, strategy ${c.strategy}, seed ${c.seed}, plugins: ${plugins.length ? plugins.join(', ') : 'none'}`;
}

/** The zones as text, one line each. */
export function zonesText(m: Machine): string {
  return zonesJson(m)
    .map((z) => `Node ${z.node}, zone ${z.zone.padStart(8)}: pfn 0x${z.start_pfn.toString(16)}-0x${(z.end_pfn - 1).toString(16)}, ${z.present_pages} present, ${z.managed_pages} managed, ${z.free_pages} free\n`)
    .join('');
}

/** A JSON document as `--json` prints it. */
export function jsonText(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}
