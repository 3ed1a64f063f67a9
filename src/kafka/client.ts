/** Builds the kafkajs client from checked options, logging through pino. */
import kafkajs, { type KafkaConfig, type LogEntry, type logCreator, type SASLOptions } from 'kafkajs';
import type { Logger } from '../log.js';
import {
  type CheckedKafkaClientOptions,
  checkKafkaClientOptions,
  type KafkaClientOptions,
} from './client-options.js';

const { Kafka, logLevel } = kafkajs;
export type Kafka = InstanceType<typeof Kafka>;

/** A kafkajs client for `options`; kafkajs' own log lines go to a child of `logger` (`component: kafkajs`). */
export function createKafkaClient(options: KafkaClientOptions, logger: Logger): Kafka {
  const checked = checkKafkaClientOptions(options);
  logger.debug({ kafka: describeKafkaClient(checked) }, 'kafka client created');
  return new Kafka(toKafkaConfig(checked, logger.child({ component: 'kafkajs' })));
}

/** What may be logged about a client: never the password. */
export function describeKafkaClient(options: CheckedKafkaClientOptions): Record<string, unknown> {
  return {
    brokers: options.brokers,
    clientId: options.clientId,
    tls: options.tls !== undefined && options.tls !== false,
    saslMechanism: options.sasl?.mechanism,
    saslUsername: options.sasl?.username,
  };
}

function toKafkaConfig(options: CheckedKafkaClientOptions, logger: Logger): KafkaConfig {
  const config: KafkaConfig = {
    brokers: options.brokers,
    clientId: options.clientId,
    connectionTimeout: options.connectionTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    retry: {
      retries: options.retries,
      initialRetryTime: options.initialRetryMs,
      maxRetryTime: options.maxRetryMs,
    },
    logLevel: logLevel.INFO,
    logCreator: pinoLogCreator(logger),
  };
  if (options.tls !== undefined && options.tls !== false) {
    config.ssl = options.tls === true ? true : { ...options.tls };
  }
  if (options.sasl !== undefined) {
    const { mechanism, username, password } = options.sasl;
    config.sasl = { mechanism, username, password } as SASLOptions;
  }
  return config;
}

// kafkajs logs an ERROR for every attempt it is about to retry; the final failure reaches the caller as
// BAHE_KAFKA_FAILED, so its per-attempt errors are warnings here and its chatter (INFO) is debug.
function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _name, ...fields } = log;
      const data = { namespace, ...fields };
      if (level === logLevel.ERROR || level === logLevel.WARN) logger.warn(data, message);
      else if (level === logLevel.INFO) logger.debug(data, message);
      else logger.trace(data, message);
    };
}
