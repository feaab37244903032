import { Machine } from '@mm/core';
import { inject, injectable } from 'tsyringe';
import { HandleTable } from './handle.js';
import { PageContents } from './page-contents.js';
import type { ZsPool } from './zs-pool.js';
import { ZspageTable } from './zspage.js';

/** Build-time options of the zsmalloc model (the kernel's Kconfig). */
export interface ZsmallocConfig {
  /** `CONFIG_ZSMALLOC_CHAIN_SIZE`: the most pages one zspage chains, 4..16 (default 8). */
  readonly chainSize: number;
}

/** DI token for the {@link ZsmallocConfig} value the plugin registers. */
export const ZsmallocConfig = Symbol('@mm/zsmalloc:ZsmallocConfig');

/**
 * Everything zsmalloc keeps for one machine (one instance per machine, a DI singleton in the
 * machine's child container): the pools, the zspage slab, the handle slab shared by all pools (as
 * the kernel's `zs_handle` cache is), the contents of the pages zsmalloc owns, and the module-wide
 * `huge_class_size`.
 */
@injectable()
export class ZsmallocState {
  /** Live pools by id (index 0 unused; destroyed pools leave `undefined`). */
  readonly pools: (ZsPool | undefined)[] = [undefined];
  /** Every zspage of every pool. */
  readonly zspages = new ZspageTable();
  /** Every handle of every pool. */
  readonly handles = new HandleTable();
  /** Bytes of the pages zsmalloc owns. */
  readonly contents: PageContents;
  /** `ZS_MAX_PAGES_PER_ZSPAGE` (`CONFIG_ZSMALLOC_CHAIN_SIZE`). */
  readonly maxPagesPerZspage: number;
  /** `huge_class_size`: set when the first pool is created (0 before). */
  huge_class_size = 0;
  /** Scratch for 64-bit word reads (low, high). */
  readonly word = new Uint32Array(2);
  /** Scratch: the in-page object index `find_alloced_obj` stopped at. */
  foundIdx = 0;
  /** Scratch for a zspage's pages (`zpdescs[ZS_MAX_PAGES_PER_ZSPAGE]`). */
  readonly pages: Int32Array;

  /** Created by the DI container for machine `m`. */
  constructor(
    /** The machine this state belongs to. */
    @inject(Machine) readonly m: Machine,
    @inject(ZsmallocConfig) config: ZsmallocConfig,
  ) {
    this.maxPagesPerZspage = config.chainSize;
    this.contents = new PageContents(m.memmap.nrPages);
    this.pages = new Int32Array(this.maxPagesPerZspage);
  }
}
