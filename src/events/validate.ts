import { normalizeBehaviorText, validateBehaviorType } from '../behavior/normalize.js';
import { isBaheError } from '../errors.js';
import type { EventKind, EventMap } from './types.js';

/** A field that breaks a rule the schema cannot express, and why. */
export interface Violation {
  field: string;
  reason: string;
}

export interface ValidationOptions {
  /** Limit on behavior and item texts after normalisation, in characters. */
  maxBehaviorChars: number;
  /**
   * Texts and types already found valid under these options. Behaviors repeat across events far
   * more than they vary, and normalising a text is the costliest check, so a hit skips it.
   */
  known?: KnownValid;
}

/** A bounded memo of valid behavior texts and types; when full it starts afresh. */
export class KnownValid {
  readonly #texts = new Set<string>();
  readonly #types = new Set<string>();
  readonly #maxEntries: number;

  constructor(maxEntries = 100_000) {
    this.#maxEntries = maxEntries;
  }

  hasText(text: string): boolean {
    return this.#texts.has(text);
  }

  addText(text: string): void {
    if (this.#texts.size >= this.#maxEntries) this.#texts.clear();
    this.#texts.add(text);
  }

  hasType(type: string): boolean {
    return this.#types.has(type);
  }

  addType(type: string): void {
    if (this.#types.size >= this.#maxEntries) this.#types.clear();
    this.#types.add(type);
  }
}

type Validator<K extends EventKind> = (
  event: EventMap[K],
  options: ValidationOptions,
) => Violation | undefined;

// Rules beyond the Avro types: the ones a well-typed but wrong message breaks. Each returns the first violation.
const validators: { [K in EventKind]: Validator<K> } = {
  BehaviorEvent: (event, options) =>
    nonEmpty(event, ['eventId', 'userId', 'source']) ??
    behavior('type', event.type, 'text', event.text, options) ??
    nonNegative('timestampMs', event.timestampMs),

  ImpressionEvent: (event, options) => {
    const basic =
      nonEmpty(event, ['eventId', 'userId', 'itemId', 'source']) ??
      text('itemText', event.itemText, options) ??
      nonNegative('timestampMs', event.timestampMs);
    if (basic) return basic;
    if (event.label !== 0 && event.label !== 1) {
      return { field: 'label', reason: `label must be 0 or 1, got ${event.label}` };
    }
    for (const [i, item] of event.history.entries()) {
      const violation = behavior(`history[${i}].type`, item.type, `history[${i}].text`, item.text, options);
      if (violation) return violation;
    }
    return undefined;
  },

  ModelUpdateEvent: (event) => {
    const basic =
      nonEmpty(event, ['version', 'location']) ??
      nonNegative('step', event.step) ??
      nonNegative('createdAtMs', event.createdAtMs);
    if (basic) return basic;
    for (const [name, value] of Object.entries(event.metrics)) {
      if (!Number.isFinite(value))
        return { field: `metrics.${name}`, reason: `metric ${name} is ${value}, not finite` };
    }
    return undefined;
  },

  DeadLetter: (event) => {
    if (!/^[0-9]+$/.test(event.offset)) {
      return {
        field: 'offset',
        reason: `offset must be a decimal string, got ${JSON.stringify(event.offset)}`,
      };
    }
    if (event.partition < -1)
      return { field: 'partition', reason: `partition must be -1 or more, got ${event.partition}` };
    return nonNegative('failedAtMs', event.failedAtMs);
  },
};

/** The first rule `event` breaks, or undefined when it is valid. */
export function findViolation<K extends EventKind>(
  kind: K,
  event: EventMap[K],
  options: ValidationOptions,
): Violation | undefined {
  return (validators[kind] as Validator<K>)(event, options);
}

function nonEmpty<T extends object>(event: T, fields: (keyof T & string)[]): Violation | undefined {
  for (const field of fields) {
    if (event[field] === '') return { field, reason: `${field} is empty` };
  }
  return undefined;
}

function nonNegative(field: string, value: number): Violation | undefined {
  return value < 0 ? { field, reason: `${field} must not be negative, got ${value}` } : undefined;
}

function behavior(
  typeField: string,
  type: string,
  textField: string,
  value: string,
  options: ValidationOptions,
): Violation | undefined {
  if (options.known?.hasType(type) !== true) {
    try {
      validateBehaviorType(type);
    } catch (err) {
      if (isBaheError(err)) return { field: typeField, reason: err.message };
      throw err;
    }
    options.known?.addType(type);
  }
  return text(textField, value, options);
}

function text(field: string, value: string, options: ValidationOptions): Violation | undefined {
  if (options.known?.hasText(value) === true) return undefined;
  try {
    normalizeBehaviorText(value, { maxChars: options.maxBehaviorChars });
    options.known?.addText(value);
    return undefined;
  } catch (err) {
    if (isBaheError(err)) return { field, reason: err.message };
    throw err;
  }
}
