/**
 * What the trainer service has read and trained from Kafka. Stored inside each checkpoint as its
 * `sourcePosition`, so the checkpoint alone says where to resume and proves which impressions its
 * parameters have learned from.
 */
import { BaheError, ErrorCode } from '../../errors.js';
import { type OffsetRange, OffsetRanges } from './offset-ranges.js';

type ByPartition<T> = Record<string, Record<string, T>>;

/** A checkpoint's `sourcePosition` for Kafka; every map is topic -> partition -> value. */
export interface KafkaSourcePosition {
  kind: 'kafka';
  /** The next offset to read: everything before it is trained or dead-lettered. */
  next: ByPartition<number>;
  /** Offsets of the impressions trained on, each exactly once. */
  trained: ByPartition<OffsetRange[]>;
  /** Offsets of the messages sent to the dead-letter topic instead. */
  deadLettered: ByPartition<OffsetRange[]>;
}

/** Where a message came from. */
export interface MessageCoordinates {
  topic: string;
  partition: number;
  offset: number;
}

export class TrainingLedger {
  readonly #next = new Map<string, number>();
  readonly #trained = new Map<string, OffsetRanges>();
  readonly #deadLettered = new Map<string, OffsetRanges>();
  #changes = 0;

  constructor(position?: KafkaSourcePosition) {
    if (position === undefined) return;
    for (const [topic, partitions] of Object.entries(position.next)) {
      for (const [partition, offset] of Object.entries(partitions))
        this.#next.set(keyOf(topic, partition), offset);
    }
    for (const [into, from] of [
      [this.#trained, position.trained],
      [this.#deadLettered, position.deadLettered],
    ] as const) {
      for (const [topic, partitions] of Object.entries(from)) {
        for (const [partition, ranges] of Object.entries(partitions)) {
          into.set(keyOf(topic, partition), new OffsetRanges(ranges));
        }
      }
    }
  }

  /**
   * The ledger of a checkpoint's `sourcePosition`; a position of another kind (e.g. `bahe run`'s
   * replay index) or of other topics is refused, since its offsets mean nothing here.
   */
  static fromCheckpoint(sourcePosition: unknown, topic: string, checkpointPath: string): TrainingLedger {
    const position = sourcePosition as Partial<KafkaSourcePosition> | null;
    const refuse = (why: string): never => {
      throw new BaheError(
        ErrorCode.CHECKPOINT_INVALID,
        `checkpoint ${checkpointPath} ${why}; give the trainer a fresh --state-dir, or the topic it was trained from`,
        { context: { path: checkpointPath, topic, field: 'sourcePosition' } },
      );
    };
    if (position?.kind !== 'kafka' || typeof position.next !== 'object' || position.next === null) {
      return refuse('was not written by the trainer service (its position is not a Kafka position)');
    }
    const topics = Object.keys(position.next);
    if (topics.some((name) => name !== topic)) {
      return refuse(`holds offsets of topic ${topics.join(', ')}, not of ${topic}`);
    }
    try {
      return new TrainingLedger({
        kind: 'kafka',
        next: position.next,
        trained: position.trained ?? {},
        deadLettered: position.deadLettered ?? {},
      });
    } catch (error) {
      return refuse(`has a malformed offset record (${error instanceof Error ? error.message : error})`);
    }
  }

  /** Grows with every change; equal values mean nothing was read, trained or dead-lettered in between. */
  get changes(): number {
    return this.#changes;
  }

  /** The offset to resume a partition from, or undefined when nothing of it was read yet. */
  nextOffset(topic: string, partition: number): number | undefined {
    return this.#next.get(keyOf(topic, partition));
  }

  /** True for a message read before (trained, dead-lettered, or waiting in the micro-batch). */
  wasRead({ topic, partition, offset }: MessageCoordinates): boolean {
    return offset < (this.#next.get(keyOf(topic, partition)) ?? 0);
  }

  markRead({ topic, partition, offset }: MessageCoordinates): void {
    checkOffset(offset);
    const key = keyOf(topic, partition);
    this.#next.set(key, Math.max(this.#next.get(key) ?? 0, offset + 1));
    this.#changes += 1;
  }

  markTrained(message: MessageCoordinates): void {
    if (!rangesOf(this.#trained, message).add(message.offset)) {
      throw new Error(`offset ${message.offset} of ${message.topic}/${message.partition} was trained twice`);
    }
    this.#changes += 1;
  }

  markDeadLettered(message: MessageCoordinates): void {
    rangesOf(this.#deadLettered, message).add(message.offset);
    this.#changes += 1;
  }

  /**
   * The position to store in a checkpoint. Impressions read but still waiting in the micro-batch
   * (`pending`) are not trained yet: a partition resumes at its oldest such impression.
   */
  toPosition(pending: Iterable<MessageCoordinates> = []): KafkaSourcePosition {
    const next = new Map(this.#next);
    for (const { topic, partition, offset } of pending) {
      const key = keyOf(topic, partition);
      next.set(key, Math.min(next.get(key) ?? offset, offset));
    }
    return {
      kind: 'kafka',
      next: nest(next, (offset) => offset),
      trained: nest(this.#trained, (ranges) => ranges.toJSON()),
      deadLettered: nest(this.#deadLettered, (ranges) => ranges.toJSON()),
    };
  }
}

// A topic name never holds a slash (Kafka allows [A-Za-z0-9._-]), so it separates the two parts.
function keyOf(topic: string, partition: number | string): string {
  return `${topic}/${partition}`;
}

function rangesOf(map: Map<string, OffsetRanges>, { topic, partition }: MessageCoordinates): OffsetRanges {
  const key = keyOf(topic, partition);
  let ranges = map.get(key);
  if (ranges === undefined) {
    ranges = new OffsetRanges();
    map.set(key, ranges);
  }
  return ranges;
}

function nest<V, T>(map: Map<string, V>, convert: (value: V) => T): ByPartition<T> {
  const out: ByPartition<T> = {};
  for (const [key, value] of map) {
    const slash = key.lastIndexOf('/');
    const topic = key.slice(0, slash);
    out[topic] ??= {};
    out[topic][key.slice(slash + 1)] = convert(value);
  }
  return out;
}

function checkOffset(offset: number): void {
  // Offsets beyond 2^53 would lose precision as JSON numbers; no real partition gets there.
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`offset ${offset} is not a safe non-negative integer`);
  }
}
