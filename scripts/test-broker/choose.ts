/** Which broker a test run gets, from the settings and what this machine offers. */
import { BaheError, ErrorCode } from '../../src/errors.js';

export type BrokerMode = 'external' | 'container' | 'local' | 'none';

export interface BrokerFacts {
  /** BAHE_KAFKA_BROKERS, when set: the developer's own broker, used as it is. */
  externalBrokers: string | undefined;
  /** Asked only when needed: undefined when the container path is open, else why not. */
  containerUnavailable: () => Promise<string | undefined>;
}

export interface BrokerChoice {
  mode: BrokerMode;
  /** Why, for the log. */
  reason: string;
}

/**
 * BAHE_KAFKA_BROKERS wins; `container`, `local` and `none` are taken as asked (a closed container path
 * is an error then); `auto` takes the container when its path is open and the local broker otherwise.
 */
export async function chooseBroker(requested: string, facts: BrokerFacts): Promise<BrokerChoice> {
  if (facts.externalBrokers !== undefined && facts.externalBrokers.trim() !== '') {
    return { mode: 'external', reason: 'BAHE_KAFKA_BROKERS is set' };
  }
  if (requested === 'local' || requested === 'none') {
    return { mode: requested, reason: `BAHE_TEST_BROKER=${requested}` };
  }

  const closed = await facts.containerUnavailable();
  if (closed === undefined) {
    return { mode: 'container', reason: `BAHE_TEST_BROKER=${requested}, container runtime and image found` };
  }
  if (requested === 'container') {
    throw new BaheError(ErrorCode.CONFIG_INVALID, `BAHE_TEST_BROKER=container, but ${closed}`, {
      context: { field: 'BAHE_TEST_BROKER' },
    });
  }
  return { mode: 'local', reason: `no container broker: ${closed}` };
}
