/** The event kinds bahe-stream reads and writes; each has Avro schemas `schemas/<Kind>.v<N>.avsc`. */
export const EVENT_KINDS = ['BehaviorEvent', 'ImpressionEvent', 'ModelUpdateEvent', 'DeadLetter'] as const;

export type EventKind = (typeof EVENT_KINDS)[number];

/** Avro namespace of every bahe-stream schema. */
export const EVENT_NAMESPACE = 'io.bahe';

/** One atomic behavior of a user. Longs are JS numbers; values beyond 2^53 - 1 are refused. */
export interface BehaviorEvent {
  eventId: string;
  userId: string;
  type: string;
  text: string;
  timestampMs: number;
  source: string;
}

/** An earlier behavior as carried inside an impression. */
export interface HistoryBehavior {
  type: string;
  text: string;
}

/** A candidate item shown to a user with the user's history (oldest first) and the click label. */
export interface ImpressionEvent {
  eventId: string;
  userId: string;
  itemId: string;
  itemText: string;
  history: HistoryBehavior[];
  label: 0 | 1;
  timestampMs: number;
  source: string;
}

/** A model version the trainer published. */
export interface ModelUpdateEvent {
  version: string;
  step: number;
  createdAtMs: number;
  metrics: Record<string, number>;
  location: string;
}

/** A record that could not be processed, with the reason. `offset` is a decimal string. */
export interface DeadLetter {
  reason: string;
  code: string;
  sourceTopic: string;
  partition: number;
  offset: string;
  payload: Buffer;
  failedAtMs: number;
}

export interface EventMap {
  BehaviorEvent: BehaviorEvent;
  ImpressionEvent: ImpressionEvent;
  ModelUpdateEvent: ModelUpdateEvent;
  DeadLetter: DeadLetter;
}

/** A decoded message: its kind, the event in the reader's shape, and which writer schema wrote it. */
export type DecodedEvent = {
  [K in EventKind]: { kind: K; event: EventMap[K]; writerVersion: number; fingerprint: string };
}[EventKind];
