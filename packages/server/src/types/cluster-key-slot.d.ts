/** Types of `cluster-key-slot` (ships none): Redis Cluster's CRC16 hash slot of a key, hash tags honoured. */
declare module "cluster-key-slot" {
  /** The slot (0-16383) of a key. */
  export default function calculateSlot(key: string | Buffer): number;
}
