/**
 * Turns events into what the encoder and trainer need: behavior references with ids, and training
 * impressions whose history and candidate point at behavior ids.
 */
import type { BehaviorIdentityCache } from '../behavior/identity-cache.js';
import type { BehaviorEvent, ImpressionEvent } from '../events/types.js';
import type { TrainingImpression } from '../trainer/batch.js';
import type { BehaviorRef } from './behavior-vectors.js';

/** Behavior type under which candidate items' texts are encoded and stored. */
export const ITEM_BEHAVIOR_TYPE = 'item';

export function behaviorRefOf(event: BehaviorEvent, identities: BehaviorIdentityCache): BehaviorRef {
  const identity = identities.identify(event.type, event.text);
  return { ...identity, seenMs: event.timestampMs };
}

export interface ResolvedImpression {
  impression: TrainingImpression;
  /** Every behavior the impression needs a vector for: its history and its candidate. */
  refs: BehaviorRef[];
  /** History entries left out because their text or type was invalid. */
  invalidHistory: number;
}

/**
 * Resolves an impression's behaviors to ids. An invalid candidate text throws (the impression cannot
 * be scored); an invalid history entry is left out and counted.
 */
export function resolveImpression(
  event: ImpressionEvent,
  identities: BehaviorIdentityCache,
): ResolvedImpression {
  const item = identities.identify(ITEM_BEHAVIOR_TYPE, event.itemText);
  const refs: BehaviorRef[] = [{ ...item, seenMs: event.timestampMs }];
  const history: TrainingImpression['history'][number][] = [];
  let invalidHistory = 0;
  for (const behavior of event.history) {
    let identity: ReturnType<BehaviorIdentityCache['identify']>;
    try {
      identity = identities.identify(behavior.type, behavior.text);
    } catch {
      invalidHistory += 1;
      continue;
    }
    history.push({ type: identity.type, behaviorId: identity.id });
    refs.push({ ...identity, seenMs: event.timestampMs });
  }
  return {
    impression: {
      userId: event.userId,
      itemId: event.itemId,
      itemBehaviorId: item.id,
      history,
      label: event.label,
    },
    refs,
    invalidHistory,
  };
}
