/** Settings of the tests' broker launcher, from the environment only (its arguments go to `node --test`). */
import type { OptionSpecs } from '../../src/config/options.js';

export const TEST_BROKER_OPTION_SPECS = {
  testBroker: {
    kind: 'string',
    choices: ['auto', 'container', 'local', 'none'],
    default: 'auto',
    description:
      'Where the tests get their Kafka broker when BAHE_KAFKA_BROKERS is unset: a container of the local ' +
      'Kafka image, the local KRaft broker of scripts/kafka, none (Kafka tests skip), or auto: the ' +
      'container when a container runtime answers and the image exists, else the local broker.',
  },
  kafkaImage: {
    kind: 'string',
    default: 'bahe/kafka:3.9.2',
    description: 'Kafka image of the container broker; scripts/containers/build-images.sh builds it.',
  },
  testKafkaPort: {
    kind: 'integer',
    min: 1024,
    max: 65534,
    default: 29092,
    description:
      'Port of the container broker on 127.0.0.1 (host network); its controller takes the next one.',
  },
  kafkaPort: {
    kind: 'integer',
    min: 1024,
    max: 65534,
    default: 19092,
    description: 'Port of the local KRaft broker (the one npm run kafka:start serves).',
  },
  testBrokerStartTimeoutS: {
    kind: 'integer',
    min: 5,
    max: 600,
    default: 120,
    description: 'Seconds to wait for the broker to start.',
  },
} satisfies OptionSpecs;
