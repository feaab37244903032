import type { Machine } from '@mm/core';
import type { Hstate } from '../hstate.js';

/**
 * Node masks (`nodemask_t`) as bit masks (the model has at most 32 nodes) and the round-robin cursors
 * hugetlb uses to spread pool growth and shrinkage over nodes (`for_each_node_mask_to_alloc`,
 * `for_each_node_mask_to_free`).
 *
 * @module
 */

/** A set of node ids, bit `nid` set for node `nid`. */
export type NodeMask = number;

/** `node_states[N_MEMORY]`: every node of the machine (all have memory in the model). */
export function node_states_memory(m: Machine): NodeMask {
  return m.nodes.length >= 32 ? 0xffffffff : (1 << m.nodes.length) - 1;
}

/** `nodemask_of_node(nid)`. */
export function nodemask_of_node(nid: number): NodeMask {
  return 1 << nid;
}

/** `nodes_weight(mask)`. */
export function nodes_weight(mask: NodeMask): number {
  let n = 0;
  for (let v = mask >>> 0; v !== 0; v &= v - 1) n++;
  return n;
}

/** `node_isset(nid, mask)`. */
export function node_isset(nid: number, mask: NodeMask): boolean {
  return ((mask >>> nid) & 1) === 1;
}

/** `next_node_in(nid, mask)`: the next node of `mask` after `nid`, wrapping around; -1 if empty. */
export function next_node_in(nid: number, mask: NodeMask): number {
  for (let i = 1; i <= 32; i++) {
    const n = (nid + i) % 32;
    if (node_isset(n, mask)) return n;
  }
  return -1;
}

/** `get_valid_node_allowed(nid, mask)`: `nid` if allowed, else the next allowed node. */
function get_valid_node_allowed(nid: number, mask: NodeMask): number {
  return node_isset(nid, mask) ? nid : next_node_in(nid, mask);
}

/**
 * `hstate_next_node_to_alloc(h, nodes_allowed)`: the node to grow the pool on next; advances the
 * cursor whether or not the allocation succeeds.
 */
export function hstate_next_node_to_alloc(h: Hstate, mask: NodeMask): number {
  const nid = get_valid_node_allowed(h.next_nid_to_alloc, mask);
  h.next_nid_to_alloc = next_node_in(nid, mask);
  return nid;
}

/** `hstate_next_node_to_free(h, nodes_allowed)`: the node to shrink the pool on next; advances the cursor. */
export function hstate_next_node_to_free(h: Hstate, mask: NodeMask): number {
  const nid = get_valid_node_allowed(h.next_nid_to_free, mask);
  h.next_nid_to_free = next_node_in(nid, mask);
  return nid;
}
