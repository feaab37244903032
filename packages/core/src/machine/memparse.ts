import { MmError } from '../debug/mm-error.js';
import { EINVAL } from '../errno.js';

/**
 * `memparse(ptr, retptr)` (`lib/cmdline.c`): a size as the kernel command line writes it, a number
 * with an optional K, M, G, T, P or E suffix (powers of 1024), e.g. `"16G"`, `"512M"`. Numbers pass
 * through. `MmError(EINVAL)` for anything else.
 */
export function memparse(size: number | string): number {
  if (typeof size === 'number') {
    if (Number.isFinite(size) && size >= 0) return size;
  } else {
    const match = /^\s*(\d+)\s*([kmgtpe]?)(i?b)?\s*$/i.exec(size);
    if (match) {
      const shift = ' kmgtpe'.indexOf(match[2]!.toLowerCase() || ' ') * 10;
      return Number(match[1]) * 2 ** shift;
    }
  }
  throw new MmError(EINVAL, `cannot parse size ${JSON.stringify(size)}`, { rule: 'memparse: <number>[KMGTPE]' });
}
