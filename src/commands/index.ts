/** Every `bahe` command by name, in the order `bahe --help` lists them. */
import type { OptionSpecs } from '../config/options.js';
import * as backfill from './backfill.js';
import * as dropVersion from './drop-version.js';
import * as encoder from './encoder.js';
import * as produce from './produce.js';
import * as prune from './prune.js';
import * as run from './run.js';
import * as serve from './serve.js';
import * as similar from './similar.js';
import * as trainer from './trainer.js';
import * as versions from './versions.js';

export interface Command {
  summary: string;
  specs: OptionSpecs;
  main: (argv: string[]) => Promise<number>;
}

export const COMMANDS: Record<string, Command> = {
  run,
  produce,
  encoder,
  trainer,
  serve,
  backfill,
  similar,
  prune,
  versions,
  'drop-version': dropVersion,
};
