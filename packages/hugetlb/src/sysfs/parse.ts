import { EINVAL, ERANGE } from '@mm/core';

/**
 * Number parsing exactly as the kernel's sysfs and cgroup stores do it (`lib/kstrtox.c`,
 * `lib/cmdline.c`).
 *
 * @module
 */

const ULONG_MAX = 2n ** 64n - 1n;

/**
 * `kstrtoul(s, 10, &res)`: an optional `+`, one or more decimal digits, an optional trailing newline,
 * nothing else. Returns the value, or `-EINVAL` (no digits, a sign `-`, spaces, junk) or `-ERANGE`
 * (above `ULONG_MAX`). Values above 2^53 come back rounded (JS numbers), which only matters for
 * "as many as possible" requests.
 */
export function kstrtoul(s: string): number {
  let i = 0;
  if (s[0] === '+') i = 1;
  let v = 0n;
  const start = i;
  while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) {
    v = v * 10n + BigInt(s.charCodeAt(i) - 48);
    if (v > ULONG_MAX) return -ERANGE;
    i++;
  }
  if (i === start) return -EINVAL;
  if (s[i] === '\n') i++;
  if (i !== s.length) return -EINVAL;
  return Number(v);
}

/**
 * `memparse(ptr, &retptr)` (`lib/cmdline.c`): `simple_strtoull(ptr, &end, 0)` (decimal, `0x` hex or
 * leading-0 octal) then one optional K/M/G/T/P/E suffix (powers of 1024). Never fails: text without a
 * number parses as 0 with `end === 0`. `end` is the index after what was consumed.
 */
export function memparseKernel(s: string): { value: number; end: number } {
  let i = 0;
  let base = 10;
  if (s[0] === '0' && (s[1] === 'x' || s[1] === 'X') && /[0-9a-f]/i.test(s[2] ?? '')) {
    base = 16;
    i = 2;
  } else if (s[0] === '0') {
    base = 8;
  }
  let v = 0;
  for (; i < s.length; i++) {
    const d = parseInt(s[i]!, 16);
    if (Number.isNaN(d) || d >= base) break;
    v = v * base + d;
  }
  const shift = 'KMGTPE'.indexOf((s[i] ?? '').toUpperCase());
  if (shift >= 0 && i < s.length) {
    v *= 2 ** (10 * (shift + 1));
    i++;
  }
  return { value: v, end: i };
}
