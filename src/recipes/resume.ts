/**
 * A training run's checkpoints, so that `--resume` continues the identical trajectory. Each save is a whole
 * generation `checkpoint-<step>/` of the run's folder (io/checkpoint.ts: written aside, renamed into place,
 * `latest` moved to it): the model's files, `optimizer.safetensors` (AdamW's moments and step) and
 * `trainer_state.json` (the step, the options that fix which batches, masks and learning rates come next, and
 * the SHA-256 of both weight files, so that files of different saves are never resumed together).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArgumentError, CheckpointError } from '../errors.js';
import { encodeCheckpoint, WEIGHTS_FILE, type CheckpointInput } from '../io/checkpoint-format.js';
import { removeGenerations, resolveCheckpointDir, writeGeneration } from '../io/checkpoint.js';
import { jsonTextNestsWithin } from '../io/json.js';
import { getFloat32, readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { Trainer } from '../train/trainer.js';

export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const STATE_FILE = 'trainer_state.json';
/** Generations a run keeps by default (--save-total-limit). */
export const SAVE_TOTAL_LIMIT = 2;

/** Options that decide the trajectory (seed, batch, schedule, …): a resumed run must be given the same. */
export type RunOptions = Record<string, number | string | boolean>;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Saves the model and the trainer's state as generation `checkpoint-<step>` of the run in `out`, keeping the
 * last `keep`. Returns the generation's folder. A failure (full disk, read-only folder) is a CheckpointError and
 * leaves the previous generation the latest.
 */
export async function saveTrainingCheckpoint(
  out: string,
  model: { checkpointInput(): CheckpointInput },
  trainer: Trainer<unknown>,
  options: RunOptions,
  keep = SAVE_TOTAL_LIMIT,
): Promise<string> {
  const files = encodeCheckpoint(model.checkpointInput());
  const optimizer = writeSafetensors(trainer.stateArrays());
  const state = {
    step: trainer.globalStep,
    ...options,
    sha256: { [WEIGHTS_FILE]: sha256(files.get(WEIGHTS_FILE)!), [OPTIMIZER_FILE]: sha256(optimizer) },
  };
  files.set(OPTIMIZER_FILE, optimizer);
  files.set(STATE_FILE, new TextEncoder().encode(JSON.stringify(state, null, 2) + '\n'));
  return writeGeneration(out, trainer.globalStep, files, { keep });
}

/** The folder a run resumes from: the latest generation of `out` (or `out` itself, written before generations). */
export function resumeFolder(out: string): Promise<string> {
  return resolveCheckpointDir(out);
}

/** A run started afresh in `out` replaces the run saved there: its generations go before the first step. */
export function startAfresh(out: string): Promise<void> {
  return removeGenerations(out);
}

/**
 * Restores into `trainer` the state saved in `dir` (a generation: resumeFolder), after checking that the files
 * are of one save (the SHA-256 recorded in trainer_state.json) and that the run's recorded options equal
 * `options` (a different batch or seed would not continue the same run).
 */
export async function restoreTrainingState(dir: string, trainer: Trainer<unknown>, options: RunOptions): Promise<void> {
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
  if (recorded.sha256 !== undefined) await checkOneSave(dir, recorded.sha256, optimizerBytes);
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
}

/** The weight files must be the ones trainer_state.json was saved with (runs saved before generations record none). */
async function checkOneSave(dir: string, recorded: unknown, optimizerBytes: Uint8Array): Promise<void> {
  const hashes = recorded as Record<string, unknown>;
  if (
    typeof recorded !== 'object' ||
    recorded === null ||
    typeof hashes[WEIGHTS_FILE] !== 'string' ||
    typeof hashes[OPTIMIZER_FILE] !== 'string'
  ) {
    throw new CheckpointError(
      `--resume: ${join(dir, STATE_FILE)} has a "sha256" field that is not {"${WEIGHTS_FILE}": hex, "${OPTIMIZER_FILE}": hex}`,
    );
  }
  let weights: Uint8Array;
  try {
    weights = await readFile(join(dir, WEIGHTS_FILE));
  } catch (e) {
    throw new CheckpointError(`--resume: could not read ${join(dir, WEIGHTS_FILE)}: ${(e as Error).message}`);
  }
  for (const [name, bytes] of [
    [WEIGHTS_FILE, weights],
    [OPTIMIZER_FILE, optimizerBytes],
  ] as const) {
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
