export { EVENT_CODEC_DEFAULTS, EventCodec, type EventCodecOptions } from './codec.js';
export { canonicalForm, crc64Avro, fingerprintHex, schemaFingerprint } from './fingerprint.js';
export { defaultSchemaDir, loadSchemaVersions, parseSchema, type SchemaVersion } from './registry.js';
export * from './types.js';
