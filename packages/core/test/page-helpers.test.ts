import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as core from '@mm/core';
import { PAGE_HELPERS_PATH, renderPageHelpers } from '../../../scripts/gen-page-helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('generated page-flag and page-type helpers', () => {
  it('page-helpers.ts is what scripts/gen-page-helpers.ts generates from the tables', () => {
    expect(readFileSync(join(root, PAGE_HELPERS_PATH), 'utf8')).toBe(renderPageHelpers());
  });

  it('every generated name is exported by @mm/core and is the table-built helper', () => {
    const names = [...renderPageHelpers().matchAll(/^export const (\w+) = (pageflags|pagetypes)\.\1;$/gm)];
    expect(names.length).toBe(
      Object.values(core.PAGEFLAG_TABLE).reduce((n, d) => n + (d.uname === null ? 7 : 14), 0) +
        Object.values(core.PAGETYPE_TABLE).reduce((n, d) => n + (d.uname === null ? 3 : 6), 0),
    );
    const exported = core as unknown as Record<string, unknown>;
    const tables = { pageflags: core.pageflags, pagetypes: core.pagetypes } as Record<string, Record<string, unknown>>;
    for (const [, name, table] of names) expect(exported[name!], name).toBe(tables[table!]![name!]);
  });
});
