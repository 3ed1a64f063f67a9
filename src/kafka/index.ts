export { KAFKA_OPTION_SPECS, type KafkaCliOptions, kafkaClientOptionsFrom } from './cli-options.js';
export { createKafkaClient, describeKafkaClient, type Kafka } from './client.js';
export {
  type CheckedKafkaClientOptions,
  checkKafkaClientOptions,
  KAFKA_CLIENT_DEFAULTS,
  type KafkaClientOptions,
  type KafkaSasl,
  type KafkaTls,
  SASL_MECHANISMS,
  type SaslMechanism,
} from './client-options.js';
export { DeadLetterWriter, type DeadLetterWriterOptions, type FailedRecord } from './dead-letter.js';
export { kafkaFailed, withKafkaErrors } from './errors.js';
export { OrderedProducer, type OutgoingMessage, type SendResult } from './producer.js';
export { checkTopicName, deadLetterTopicOf, deleteTopics, ensureTopics, type TopicSpec } from './topics.js';
