/** The options of the operations endpoints, shared by every long-running command. */
import type { OptionSpecs } from '../config/options.js';

/** Default ports, one per command, so that the services can run side by side on one machine. */
export const DEFAULT_OPS_PORTS = { encoder: 9610, trainer: 9611, serve: 9612 } as const;

/**
 * `--ops-host` and `--ops-port` with `defaultPort`; port 0 turns the endpoints off, except where
 * `required` (the scorer, whose API is on the same server).
 */
export function opsOptionSpecs(defaultPort: number, required = false) {
  return {
    opsHost: {
      kind: 'string',
      default: '127.0.0.1',
      description:
        'Interface the HTTP endpoints (/healthz, /readyz, /metrics) bind to; loopback unless you expose them on purpose.',
    },
    opsPort: {
      kind: 'integer',
      min: required ? 1 : 0,
      max: 65_535,
      default: defaultPort,
      description: required
        ? 'TCP port of the HTTP endpoints.'
        : 'TCP port of the HTTP endpoints; 0 turns them off.',
    },
  } as const satisfies OptionSpecs;
}

export interface OpsCliOptions {
  opsHost: string;
  opsPort: number;
}
