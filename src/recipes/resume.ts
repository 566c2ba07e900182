/**
 * A training run's state beside its checkpoint, so that `--resume` continues the identical trajectory:
 * `optimizer.safetensors` (AdamW's moments and step) and `trainer_state.json` (the step, and the options
 * that fix which batches, masks and learning rates come next). The model's own files are the checkpoint's.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArgumentError, CheckpointError } from '../errors.js';
import { getFloat32, readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { Trainer } from '../train/trainer.js';

const OPTIMIZER_FILE = 'optimizer.safetensors';
const STATE_FILE = 'trainer_state.json';

/** Options that decide the trajectory (seed, batch, schedule, …): a resumed run must be given the same. */
export type RunOptions = Record<string, number | string | boolean>;

/** The files to save with the model: the trainer's state and the run's options. */
export function trainingStateFiles(
  trainer: Trainer<unknown>,
  options: RunOptions,
): Record<string, Uint8Array | string> {
  return {
    [OPTIMIZER_FILE]: writeSafetensors(trainer.stateArrays()),
    [STATE_FILE]: JSON.stringify({ step: trainer.globalStep, ...options }, null, 2) + '\n',
  };
}

/**
 * Restores into `trainer` the state saved in `dir`, after checking that the run's recorded options equal
 * `options` (a different batch or seed would not continue the same run).
 */
export async function restoreTrainingState(dir: string, trainer: Trainer<unknown>, options: RunOptions): Promise<void> {
  const read = async (name: string) => {
    try {
      return await readFile(join(dir, name));
    } catch {
      throw new CheckpointError(
        `--resume: ${join(dir, name)} is missing (only a training run's checkpoints can be resumed)`,
      );
    }
  };
  const text = (await read(STATE_FILE)).toString('utf8');
  let saved: Record<string, unknown> | undefined;
  try {
    saved = JSON.parse(text);
  } catch {
    // reported below
  }
  if (typeof saved !== 'object' || saved === null || !Number.isSafeInteger(saved.step) || (saved.step as number) < 0) {
    throw new CheckpointError(`--resume: ${join(dir, STATE_FILE)} is not a training state (JSON with a step)`);
  }
  const recorded = saved;
  const differ = Object.entries(options).filter(([k, v]) => k in recorded && recorded[k] !== v);
  if (differ.length > 0) {
    const list = differ.map(([k, v]) => `${k} ${JSON.stringify(recorded[k])} (given ${JSON.stringify(v)})`).join(', ');
    throw new ArgumentError(`--resume: the run in ${dir} was started with ${list}; resume it with the same options`);
  }
  const file = readSafetensors(await read(OPTIMIZER_FILE));
  trainer.restoreState(
    recorded.step as number,
    [...file.tensors.values()].map((t) => ({ name: t.name, shape: t.shape, data: getFloat32(file, t.name) })),
  );
}
