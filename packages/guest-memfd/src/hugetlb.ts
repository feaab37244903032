/**
 * `@mm/guest-memfd/hugetlb`: hugetlb backing for guest_memfd files, built on `@mm/hugetlb` (an optional
 * peer dependency, which is why it has its own entry point: `@mm/guest-memfd` itself never imports it).
 *
 * @packageDocumentation
 */

export { HugetlbGmemAllocator, guestMemfdHugetlbPlugin } from './hugetlb/allocator.js';
