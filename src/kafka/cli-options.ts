/** Kafka connection options shared by every command that talks to a broker (flags and BAHE_KAFKA_* variables). */
import { readFileSync } from 'node:fs';
import type { OptionSpecs, ParsedOptions } from '../config/options.js';
import { BaheError, ErrorCode } from '../errors.js';
import { KAFKA_CLIENT_DEFAULTS, type KafkaClientOptions, type SaslMechanism } from './client-options.js';

export const KAFKA_OPTION_SPECS = {
  kafkaBrokers: {
    kind: 'string',
    default: '127.0.0.1:19092',
    description:
      'Comma-separated host:port of the brokers to bootstrap from (npm run kafka:start serves the default).',
  },
  kafkaClientId: {
    kind: 'string',
    default: KAFKA_CLIENT_DEFAULTS.clientId,
    description: 'Client id the brokers see.',
  },
  kafkaSaslMechanism: {
    kind: 'string',
    choices: ['none', 'plain', 'scram-sha-256', 'scram-sha-512'],
    default: 'none',
    description: 'SASL authentication; with one, --kafka-username and --kafka-password are required.',
  },
  kafkaUsername: { kind: 'string', description: 'SASL user name.' },
  kafkaPassword: {
    kind: 'string',
    secret: true,
    description: 'SASL password; prefer the environment variable to a flag, which other users can see.',
  },
  kafkaTls: { kind: 'boolean', default: false, description: 'Connect to the brokers over TLS.' },
  kafkaTlsCaFile: {
    kind: 'string',
    description:
      "PEM file of the certificate authorities to trust (implies --kafka-tls). Default: the system's.",
  },
  kafkaTlsRejectUnauthorized: {
    kind: 'boolean',
    default: true,
    description: 'Refuse brokers whose certificate does not verify.',
  },
  kafkaConnectionTimeoutMs: {
    kind: 'integer',
    min: 100,
    max: 300_000,
    default: KAFKA_CLIENT_DEFAULTS.connectionTimeoutMs,
    description: 'Milliseconds to wait for a broker connection.',
  },
  kafkaRequestTimeoutMs: {
    kind: 'integer',
    min: 100,
    max: 600_000,
    default: KAFKA_CLIENT_DEFAULTS.requestTimeoutMs,
    description: 'Milliseconds to wait for a broker answer.',
  },
  kafkaRetries: {
    kind: 'integer',
    min: 0,
    max: 1_000,
    default: KAFKA_CLIENT_DEFAULTS.retries,
    description: 'Retries, with exponential backoff, of a failed request before the command fails.',
  },
} as const satisfies OptionSpecs;

export type KafkaCliOptions = ParsedOptions<typeof KAFKA_OPTION_SPECS>;

/** Client options from parsed flags; reads the CA file here, so a missing file fails at start. */
export function kafkaClientOptionsFrom(options: KafkaCliOptions): KafkaClientOptions {
  const client: KafkaClientOptions = {
    brokers: options.kafkaBrokers
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b !== ''),
    clientId: options.kafkaClientId,
    connectionTimeoutMs: options.kafkaConnectionTimeoutMs,
    requestTimeoutMs: options.kafkaRequestTimeoutMs,
    retries: options.kafkaRetries,
  };

  if (options.kafkaTls || options.kafkaTlsCaFile !== undefined) {
    client.tls = {
      rejectUnauthorized: options.kafkaTlsRejectUnauthorized,
      ...(options.kafkaTlsCaFile === undefined ? {} : { ca: [readCaFile(options.kafkaTlsCaFile)] }),
    };
  }

  if (options.kafkaSaslMechanism !== 'none') {
    const missing =
      options.kafkaUsername === undefined
        ? 'kafkaUsername'
        : options.kafkaPassword === undefined
          ? 'kafkaPassword'
          : undefined;
    if (missing !== undefined) {
      throw new BaheError(
        ErrorCode.CONFIG_INVALID,
        `--kafka-sasl-mechanism ${options.kafkaSaslMechanism} needs --kafka-username and --kafka-password ` +
          '(or BAHE_KAFKA_USERNAME and BAHE_KAFKA_PASSWORD)',
        { context: { field: missing } },
      );
    }
    client.sasl = {
      mechanism: options.kafkaSaslMechanism as SaslMechanism,
      username: options.kafkaUsername ?? '',
      password: options.kafkaPassword ?? '',
    };
  }
  return client;
}

function readCaFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new BaheError(
      ErrorCode.CONFIG_INVALID,
      `--kafka-tls-ca-file ${file} cannot be read: ${String(cause)}`,
      {
        cause,
        context: { field: 'kafkaTlsCaFile', path: file },
      },
    );
  }
}
