import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { BaheError, ErrorCode } from '../errors.js';
import { verifyEncoderVersion, verifySha256 } from './checksum.js';
import { type ModelManifest, readManifest } from './manifest.js';
import { loadParameters, type ParameterSet } from './parameters.js';

/** A compiled model folder, checked against its manifest. */
export interface LoadedModel {
  /** Absolute path of the model folder. */
  dir: string;
  manifest: ModelManifest;
  /** Absolute paths of the files the manifest names. */
  files: { encoder: string; aggregator: string; trainStep: string; parameters: string; vocab: string };
  /** The initial trainable parameters from `params.init.bin`. */
  parameters: ParameterSet;
}

export interface LoadModelOptions {
  /** Check every graph's and the parameter file's sha256 (default true); the hashing reads each file once. */
  verifyChecksums?: boolean;
}

/** Reads a compiled model folder: validates the manifest, verifies file hashes, loads the parameters. */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const absolute = path.resolve(dir);
  const folder = await stat(absolute).catch(() => undefined);
  if (folder === undefined || !folder.isDirectory()) {
    throw new BaheError(
      ErrorCode.MODEL_INVALID,
      `model folder ${absolute} does not exist or is not a folder; point the model directory at a compiled ` +
        'model (model/default ships with the repository) or write one with the model compiler',
      { context: { path: absolute } },
    );
  }

  const manifest = await readManifest(absolute);
  const inside = (relative: string) => path.join(absolute, relative);
  const files = {
    encoder: inside(manifest.graphs.encoder.file),
    aggregator: inside(manifest.graphs.aggregator.file),
    trainStep: inside(manifest.graphs.trainStep.file),
    parameters: inside(manifest.parameters.file),
    vocab: inside(manifest.tokenizer.vocab),
  };

  const verify = options.verifyChecksums ?? true;
  const encoderDigest = createHash('sha256');
  if (verify) {
    // One after another: these are disk-bound, and the first failure is the one reported.
    await verifySha256(files.encoder, manifest.graphs.encoder.sha256, 'graphs.encoder.sha256', encoderDigest);
    await verifySha256(files.aggregator, manifest.graphs.aggregator.sha256, 'graphs.aggregator.sha256');
    await verifySha256(files.trainStep, manifest.graphs.trainStep.sha256, 'graphs.trainStep.sha256');
    await verifySha256(files.parameters, manifest.parameters.sha256, 'parameters.sha256');
  }
  const vocab = await stat(files.vocab).catch(() => undefined);
  if (vocab === undefined || !vocab.isFile()) {
    throw new BaheError(
      ErrorCode.MODEL_INVALID,
      `${files.vocab} is missing (the manifest's tokenizer.vocab names it); re-run the model compiler`,
      { context: { path: files.vocab, field: 'tokenizer.vocab' } },
    );
  }

  if (verify)
    await verifyEncoderVersion(encoderDigest, files.vocab, manifest.tokenizer, manifest.encoderVersion);

  const parameters = await loadParameters(files.parameters, manifest.parameters.entries);
  return { dir: absolute, manifest, files, parameters };
}
