import avro from 'avsc';

const MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Avro `long` as a JS number that refuses, rather than rounds, any value beyond ±(2^53 - 1).
 * Chosen over bigint because every long here is a millisecond time or a step count, far below 2^53,
 * and numbers flow into JSON, logs and Kafka without conversion; a larger value is a foreign writer's
 * mistake and the message goes to the dead-letter topic with this error's message as the reason.
 */
export const safeLongType = avro.types.LongType.__with({
  fromBuffer(buf: Buffer): number {
    const value = buf.readBigInt64LE();
    if (value > MAX || value < -MAX) {
      throw new RangeError(
        `long ${value} is beyond 2^53 - 1 and cannot be held exactly; the writer sent an invalid value`,
      );
    }
    return Number(value);
  },
  toBuffer(value: number): Buffer {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(value));
    return buf;
  },
  fromJSON(value: unknown): number {
    return Number(value);
  },
  toJSON(value: number): number {
    return value;
  },
  isValid(value: unknown): boolean {
    return typeof value === 'number' && Number.isSafeInteger(value);
  },
  compare(a: number, b: number): number {
    return a === b ? 0 : a < b ? -1 : 1;
  },
});
