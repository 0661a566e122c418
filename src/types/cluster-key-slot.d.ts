// cluster-key-slot ships no types; this is its whole public surface.
declare module 'cluster-key-slot' {
  /** Redis Cluster slot (0–16383) of a key, honouring `{hash tags}`. */
  function calculateSlot(key: string | Buffer): number;
  namespace calculateSlot {
    /** The one slot of several keys, or -1 when they hash to different slots. */
    function generateMulti(keys: Array<string | Buffer>): number;
  }
  export = calculateSlot;
}
