/**
 * Stage 1 of the encoder service: behavior and impression events in, behavior references out, folded
 * by behavior id so that a chunk of events sends each behavior once with its mention counts.
 */
import type { BehaviorIdentityCache } from '../../behavior/identity-cache.js';
import { BaheError, ErrorCode } from '../../errors.js';
import type { EventCodec } from '../../events/codec.js';
import { behaviorRefOf, resolveImpression } from '../../pipeline/impressions.js';
import type { BehaviorRefMessage } from './behavior-ref-message.js';

/** Folds behavior mentions by id; `refs()` gives one message per behavior. */
export class BehaviorRefFolder {
  readonly #byId = new Map<string, BehaviorRefMessage>();
  #mentions = 0;

  /** Mentions added so far, repeats included. */
  get mentions(): number {
    return this.#mentions;
  }

  add(mention: { id: string; type: string; text: string; seenMs: number }, sighting: boolean): void {
    this.#mentions += 1;
    const folded = this.#byId.get(mention.id);
    if (folded === undefined) {
      this.#byId.set(mention.id, {
        id: mention.id,
        type: mention.type,
        text: mention.text,
        seenMs: mention.seenMs,
        lastSeenMs: mention.seenMs,
        count: 1,
        sightings: sighting ? 1 : 0,
      });
      return;
    }
    folded.count += 1;
    folded.seenMs = Math.min(folded.seenMs, mention.seenMs);
    folded.lastSeenMs = Math.max(folded.lastSeenMs, mention.seenMs);
    if (sighting) folded.sightings += 1;
  }

  refs(): BehaviorRefMessage[] {
    return [...this.#byId.values()];
  }
}

/**
 * Decodes one event message of the kind its topic carries and adds its behaviors to `folder`: a
 * behavior event's own behavior, an impression's history entries and its candidate item (type
 * `item`). Throws BAHE_EVENT_INVALID or BAHE_SCHEMA_UNKNOWN for a message that cannot be read or is of
 * another kind (a producer writing to the wrong topic), and nothing is added then.
 */
export function routeEventMessage(
  value: Buffer | null,
  kind: 'BehaviorEvent' | 'ImpressionEvent',
  codec: EventCodec,
  identities: BehaviorIdentityCache,
  folder: BehaviorRefFolder,
): void {
  if (value === null) {
    throw new BaheError(
      ErrorCode.EVENT_INVALID,
      'the message has no value (a tombstone?); events carry a value',
    );
  }
  if (kind === 'BehaviorEvent') {
    folder.add(behaviorRefOf(codec.decodeAs(kind, value), identities), true);
    return;
  }
  // The codec has validated every history entry and the candidate text, so nothing is left out here.
  for (const ref of resolveImpression(codec.decodeAs(kind, value), identities).refs) folder.add(ref, false);
}
