/** Connection settings of a Kafka client, checked once; the password is never logged or echoed. */
import { BaheError, ErrorCode } from '../errors.js';

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface KafkaSasl {
  mechanism: SaslMechanism;
  username: string;
  password: string;
}

export interface KafkaTls {
  /** PEM certificates of the authorities to trust; the system's when absent. */
  ca?: string[];
  /** Refuse brokers whose certificate does not verify; true unless a test broker needs otherwise. */
  rejectUnauthorized?: boolean;
}

export interface KafkaClientOptions {
  /** `host:port` of one or more brokers to bootstrap from. */
  brokers: string[];
  clientId?: string;
  /** TLS to the brokers: `true` for the defaults, or the settings. Off when absent. */
  tls?: boolean | KafkaTls;
  sasl?: KafkaSasl;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Retries of a failed request before it fails with BAHE_KAFKA_FAILED. */
  retries?: number;
  initialRetryMs?: number;
  maxRetryMs?: number;
}

export const KAFKA_CLIENT_DEFAULTS = Object.freeze({
  clientId: 'bahe-stream',
  connectionTimeoutMs: 3_000,
  requestTimeoutMs: 30_000,
  retries: 8,
  initialRetryMs: 300,
  maxRetryMs: 30_000,
});

export type CheckedKafkaClientOptions = Required<Omit<KafkaClientOptions, 'tls' | 'sasl'>> &
  Pick<KafkaClientOptions, 'tls' | 'sasl'>;

const BROKER_PATTERN = /^[A-Za-z0-9.:[\]_-]+:[0-9]{1,5}$/;
const CLIENT_ID_PATTERN = /^[A-Za-z0-9._-]{1,200}$/;

/** Applies the defaults and checks every field; a bad one fails with BAHE_CONFIG_INVALID naming it. */
export function checkKafkaClientOptions(options: KafkaClientOptions): CheckedKafkaClientOptions {
  if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
    throw invalid('brokers', 'brokers must list at least one host:port, e.g. 127.0.0.1:19092');
  }
  for (const broker of options.brokers) {
    if (!BROKER_PATTERN.test(broker)) {
      throw invalid('brokers', `broker ${JSON.stringify(broker)} is not host:port, e.g. 127.0.0.1:19092`);
    }
    const port = Number(broker.slice(broker.lastIndexOf(':') + 1));
    if (port < 1 || port > 65_535) {
      throw invalid('brokers', `broker ${JSON.stringify(broker)} has port ${port}; a port is 1 to 65535`);
    }
    if (broker.slice(0, broker.lastIndexOf(':')).includes(':')) {
      throw invalid(
        'brokers',
        `broker ${JSON.stringify(broker)} is an IPv6 address, which the Kafka client cannot parse; use a host name that resolves to it`,
      );
    }
  }

  const checked: CheckedKafkaClientOptions = {
    brokers: [...options.brokers],
    clientId: options.clientId ?? KAFKA_CLIENT_DEFAULTS.clientId,
    connectionTimeoutMs: options.connectionTimeoutMs ?? KAFKA_CLIENT_DEFAULTS.connectionTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs ?? KAFKA_CLIENT_DEFAULTS.requestTimeoutMs,
    retries: options.retries ?? KAFKA_CLIENT_DEFAULTS.retries,
    initialRetryMs: options.initialRetryMs ?? KAFKA_CLIENT_DEFAULTS.initialRetryMs,
    maxRetryMs: options.maxRetryMs ?? KAFKA_CLIENT_DEFAULTS.maxRetryMs,
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    ...(options.sasl === undefined ? {} : { sasl: options.sasl }),
  };
  if (!CLIENT_ID_PATTERN.test(checked.clientId)) {
    throw invalid('clientId', 'clientId must be 1 to 200 characters from [A-Za-z0-9._-]');
  }
  checkInteger('connectionTimeoutMs', checked.connectionTimeoutMs, 100, 300_000);
  checkInteger('requestTimeoutMs', checked.requestTimeoutMs, 100, 600_000);
  checkInteger('retries', checked.retries, 0, 1_000);
  checkInteger('initialRetryMs', checked.initialRetryMs, 1, 60_000);
  checkInteger('maxRetryMs', checked.maxRetryMs, checked.initialRetryMs, 600_000);

  const { sasl } = checked;
  if (sasl !== undefined) {
    if (!SASL_MECHANISMS.includes(sasl.mechanism)) {
      throw invalid('sasl.mechanism', `sasl.mechanism must be one of ${SASL_MECHANISMS.join(', ')}`);
    }
    if (!sasl.username) throw invalid('sasl.username', 'sasl.username is required with a SASL mechanism');
    if (!sasl.password) throw invalid('sasl.password', 'sasl.password is required with a SASL mechanism');
  }
  return checked;
}

function checkInteger(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `${field} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

function invalid(field: string, message: string): BaheError {
  return new BaheError(ErrorCode.CONFIG_INVALID, message, { context: { field } });
}
