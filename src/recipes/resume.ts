/**
 * A training run's checkpoints, so that `--resume` continues the identical trajectory. Each save is a whole
 * generation `checkpoint-<step>/` of the run's folder (io/checkpoint.ts: written aside, renamed into place,
 * `latest` moved to it): the model's files, `optimizer.safetensors` (AdamW's moments and step) and
 * `trainer_state.json` (the step, the options that fix which batches, masks and learning rates come next, and
 * the SHA-256 of both weight files, so that files of different saves are never resumed together). A LoRA run
 * saves its adapter files in place of the model's (adapter_model.safetensors hashed): the frozen base is the
 * model of --from, given again on resume, and the optimizer state is the adapters'.
 */
import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArgumentError, CheckpointError } from '../errors.js';
import { encodeCheckpoint, WEIGHTS_FILE, type CheckpointInput } from '../io/checkpoint-format.js';
import { removeGenerations, resolveCheckpointDir, writeGeneration } from '../io/checkpoint.js';
import { jsonTextNestsWithin } from '../io/json.js';
import { getFloat32, readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { LoraModel } from '../models/lora.js';
import {
  ADAPTER_CONFIG,
  ADAPTER_WEIGHTS,
  encodeLora,
  readAdapterWeights,
  type LoraSaveOptions,
} from '../models/peft.js';
import type { Trainer } from '../train/trainer.js';

export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const STATE_FILE = 'trainer_state.json';
/** Generations a run keeps by default (--save-total-limit). */
export const SAVE_TOTAL_LIMIT = 2;

/** Options that decide the trajectory (seed, batch, schedule, …): a resumed run must be given the same. */
export type RunOptions = Record<string, number | string | boolean>;

/** What a run trains: the whole model, or (a LoRA run) the adapters on a frozen base, saved with these options. */
export type Trained = { checkpointInput(): CheckpointInput } | { adapter: LoraModel; save: LoraSaveOptions };

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Saves what the run trains and the trainer's state as generation `checkpoint-<step>` of the run in `out`,
 * keeping the last `keep`. Returns the generation's folder. A failure (full disk, read-only folder) is a
 * CheckpointError and leaves the previous generation the latest.
 */
export async function saveTrainingCheckpoint(
  out: string,
  trained: Trained,
  trainer: Trainer<unknown>,
  options: RunOptions,
  keep = SAVE_TOTAL_LIMIT,
): Promise<string> {
  const [files, weights] =
    'adapter' in trained
      ? [encodeLora(trained.adapter, trained.save), ADAPTER_WEIGHTS]
      : [encodeCheckpoint(trained.checkpointInput()), WEIGHTS_FILE];
  const optimizer = writeSafetensors(trainer.stateArrays());
  const state = {
    step: trainer.globalStep,
    ...options,
    sha256: { [weights]: sha256(files.get(weights)!), [OPTIMIZER_FILE]: sha256(optimizer) },
  };
  files.set(OPTIMIZER_FILE, optimizer);
  files.set(STATE_FILE, new TextEncoder().encode(JSON.stringify(state, null, 2) + '\n'));
  return writeGeneration(out, trainer.globalStep, files, { keep });
}

/**
 * The folder a run resumes from: the latest generation of `out` (or `out` itself, written before generations),
 * checked to be a save of the run's kind: a LoRA run's holds an adapter (adapter_config.json), a full run's not.
 */
export async function resumeFolder(out: string, lora = false): Promise<string> {
  const dir = await resolveCheckpointDir(out);
  const adapter = await access(join(dir, ADAPTER_CONFIG)).then(
    () => true,
    () => false,
  );
  if (adapter && !lora)
    throw new ArgumentError(
      `--resume: ${dir} holds a LoRA adapter (${ADAPTER_CONFIG}): resume the run with the --from and --lora it was started with`,
    );
  if (!adapter && lora)
    throw new ArgumentError(
      `--resume --lora: ${dir} holds no LoRA adapter (${ADAPTER_CONFIG}); a run that trained the whole model resumes without --lora`,
    );
  return dir;
}

/** A run started afresh in `out` replaces the run saved there: its generations go before the first step. */
export function startAfresh(out: string): Promise<void> {
  return removeGenerations(out);
}

/**
 * Restores into `trainer` the state saved in `dir` (a generation: resumeFolder), after checking that the files
 * are of one save (the SHA-256 recorded in trainer_state.json) and that the run's recorded options equal
 * `options` (a different batch or seed would not continue the same run). A LoRA run's `adapter` (put on the
 * base with the options given) gets the saved adapter weights.
 */
export async function restoreTrainingState(
  dir: string,
  trainer: Trainer<unknown>,
  options: RunOptions,
  adapter?: LoraModel,
): Promise<void> {
  const read = async (name: string) => {
    try {
      return await readFile(join(dir, name));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new CheckpointError(
        code === 'ENOENT'
          ? `--resume: ${join(dir, name)} is missing (only a training run's checkpoints can be resumed)`
          : `--resume: could not read ${join(dir, name)}: ${(e as Error).message}`,
      );
    }
  };
  const text = (await read(STATE_FILE)).toString('utf8');
  let saved: Record<string, unknown> | undefined;
  try {
    if (jsonTextNestsWithin(text)) saved = JSON.parse(text);
  } catch {
    // reported below
  }
  if (
    typeof saved !== 'object' ||
    saved === null ||
    Array.isArray(saved) ||
    !Number.isSafeInteger(saved.step) ||
    (saved.step as number) < 0
  ) {
    throw new CheckpointError(`--resume: ${join(dir, STATE_FILE)} is not a training state (JSON with a step)`);
  }
  const recorded = saved;
  const optimizerBytes = await read(OPTIMIZER_FILE);
  // the weights: a full run's are only hashed (its model was read with its checkpoint; runs saved before
  // generations record no hashes), a LoRA run's adapter is read from them
  const weightsFile = adapter ? ADAPTER_WEIGHTS : WEIGHTS_FILE;
  const weights = adapter || recorded.sha256 !== undefined ? await read(weightsFile) : undefined;
  if (weights && recorded.sha256 !== undefined)
    checkOneSave(dir, recorded.sha256, { [weightsFile]: weights, [OPTIMIZER_FILE]: optimizerBytes });
  const differ = Object.entries(options).filter(([k, v]) => Object.hasOwn(recorded, k) && recorded[k] !== v);
  if (differ.length > 0) {
    const list = differ.map(([k, v]) => `${k} ${JSON.stringify(recorded[k])} (given ${JSON.stringify(v)})`).join(', ');
    throw new ArgumentError(`--resume: the run in ${dir} was started with ${list}; resume it with the same options`);
  }
  let file;
  try {
    file = readSafetensors(optimizerBytes);
  } catch (e) {
    throw new CheckpointError(`--resume: ${join(dir, OPTIMIZER_FILE)}: ${(e as Error).message}`);
  }
  trainer.restoreState(
    recorded.step as number,
    [...file.tensors.values()].map((t) => ({ name: t.name, shape: t.shape, data: getFloat32(file, t.name) })),
  );
  if (adapter && weights) readAdapterWeights(adapter, weights, dir);
}

/** The files must be the ones trainer_state.json was saved with (runs saved before generations record none). */
function checkOneSave(dir: string, recorded: unknown, files: Record<string, Uint8Array>): void {
  const hashes = recorded as Record<string, unknown>;
  if (
    typeof recorded !== 'object' ||
    recorded === null ||
    Object.keys(files).some((n) => typeof hashes[n] !== 'string')
  ) {
    const expected = Object.keys(files).map((n) => `"${n}": hex`);
    throw new CheckpointError(
      `--resume: ${join(dir, STATE_FILE)} has a "sha256" field that is not {${expected.join(', ')}}`,
    );
  }
  for (const [name, bytes] of Object.entries(files)) {
    const found = sha256(bytes);
    if (found !== hashes[name]) {
      throw new CheckpointError(
        `--resume: ${join(dir, name)} is not the file ${STATE_FILE} was saved with (SHA-256 ${found.slice(0, 16)}…, ` +
          `recorded ${String(hashes[name]).slice(0, 16)}…): the folder holds files of different saves, and resuming ` +
          `it would not continue the run; resume from a whole generation (checkpoint-<step>/)`,
      );
    }
  }
}
