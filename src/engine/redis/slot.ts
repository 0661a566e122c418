/**
 * Redis Cluster's key -> slot function. The engine needs it to know which primary owns a partition
 * (for WAIT's replica count and for routing live subscriptions). `cluster-key-slot` is the
 * implementation ioredis itself routes commands with, so Holdline and ioredis can never disagree.
 */
import calculateSlot from 'cluster-key-slot';

/** Only the part between the first `{` and the next `}` is hashed, when that part is not empty. */
export function keySlot(key: string): number {
  return calculateSlot(key);
}
