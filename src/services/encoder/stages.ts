/**
 * What the encoder service does with one chunk of messages, stage by stage. Each function resolves
 * only once its effects are durable (references acknowledged by the broker, vectors by the store,
 * dead letters by the broker), so the caller may then commit the chunk's offsets.
 */
import type { BehaviorIdentityCache } from '../../behavior/identity-cache.js';
import type { EventCodec } from '../../events/codec.js';
import type { DeadLetterWriter } from '../../kafka/dead-letter.js';
import type { OrderedProducer } from '../../kafka/producer.js';
import type { BehaviorRef, BehaviorVectors } from '../../pipeline/behavior-vectors.js';
import type { BehaviorObservation, BehaviorStore } from '../../store/types.js';
import type { AdmissionCounter } from './admission.js';
import { decodeBehaviorRef, encodeBehaviorRef } from './behavior-ref-message.js';
import { BehaviorRefFolder, routeEventMessage } from './router.js';
import type { StoredBehaviors } from './stored-behaviors.js';

/** A consumed message as the stages need it. */
export interface ChunkMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface Chunk {
  topic: string;
  partition: number;
  messages: readonly ChunkMessage[];
}

/** Counters of one service instance since it started. */
export interface StageCounts {
  /** Behavior and impression events routed. */
  eventsRouted: number;
  /** Messages sent to a dead-letter topic. */
  deadLettered: number;
  /** Behavior mentions found in the events, repeats included. */
  mentionsRouted: number;
  /** Reference messages sent to the internal topic (one per behavior per chunk). */
  refsSent: number;
  /** Behaviors of a chunk not sent on: stored already, and mentioned by impressions only. */
  refsSkipped: number;
  /** Reference messages read from the internal topic. */
  refsRead: number;
  /** Behaviors passed on to the seen-set and encoder after reaching the admission threshold. */
  refsAdmitted: number;
}

export interface StageDeps {
  codec: EventCodec;
  identities: BehaviorIdentityCache;
  producer: OrderedProducer;
  deadLetters: DeadLetterWriter;
  vectors: BehaviorVectors;
  store: BehaviorStore;
  admission: AdmissionCounter;
  stored: StoredBehaviors;
  /** Messages of this topic are impression events; of any other source topic, behavior events. */
  impressionTopic: string;
  refsTopic: string;
  counts: StageCounts;
}

type Failure = [ChunkMessage, unknown];

/**
 * Stage 1: decodes events and sends their behaviors to the internal topic, keyed by behavior id,
 * leaving out those already stored that no behavior event mentions.
 */
export async function routeChunk(chunk: Chunk, deps: StageDeps): Promise<void> {
  const kind = chunk.topic === deps.impressionTopic ? 'ImpressionEvent' : 'BehaviorEvent';
  const folder = new BehaviorRefFolder();
  const failures: Failure[] = [];
  for (const message of chunk.messages) {
    try {
      routeEventMessage(message.value, kind, deps.codec, deps.identities, folder);
      deps.counts.eventsRouted += 1;
    } catch (error) {
      failures.push([message, error]);
    }
  }

  const folded = folder.refs();
  const refs = await deps.stored.needed(folded);
  if (refs.length > 0) {
    await deps.producer.send(
      deps.refsTopic,
      refs.map((ref) => ({ key: ref.id, value: encodeBehaviorRef(ref) })),
    );
  }
  deps.counts.mentionsRouted += folder.mentions;
  deps.counts.refsSent += refs.length;
  deps.counts.refsSkipped += folded.length - refs.length;
  await deadLetter(chunk, failures, deps);
}

/**
 * Stage 2: counts mentions towards admission, has the admitted behaviors encoded and stored unless
 * already stored, and records behavior-event sightings in the store.
 */
export async function encodeChunk(chunk: Chunk, deps: StageDeps): Promise<void> {
  const admitted: BehaviorRef[] = [];
  const sightings: BehaviorObservation[] = [];
  const failures: Failure[] = [];
  for (const message of chunk.messages) {
    let ref: ReturnType<typeof decodeBehaviorRef>;
    try {
      ref = decodeBehaviorRef(message.value, deps.identities);
    } catch (error) {
      failures.push([message, error]);
      continue;
    }
    deps.counts.refsRead += 1;
    if (deps.admission.admit(chunk.partition, ref.id, ref.count)) {
      admitted.push({ id: ref.id, type: ref.type, text: ref.text, seenMs: ref.seenMs });
    }
    if (ref.sightings > 0) sightings.push({ id: ref.id, seenMs: ref.lastSeenMs, count: ref.sightings });
  }

  await deps.vectors.ensure(admitted);
  deps.counts.refsAdmitted += admitted.length;
  // Sightings of behaviors not (yet) stored are ignored by the store; like every sighting count,
  // they are approximate under redelivery.
  if (sightings.length > 0) await deps.store.touch(sightings);
  await deadLetter(chunk, failures, deps);
}

async function deadLetter(chunk: Chunk, failures: readonly Failure[], deps: StageDeps): Promise<void> {
  for (const [message, error] of failures) {
    await deps.deadLetters.write(
      {
        topic: chunk.topic,
        partition: chunk.partition,
        offset: message.offset,
        key: message.key,
        value: message.value,
      },
      error,
    );
    deps.counts.deadLettered += 1;
  }
}
