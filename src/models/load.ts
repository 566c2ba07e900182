import { ArgumentError } from '../errors.js';
import type { Checkpoint } from '../io/checkpoint-format.js';
import { getFloat32 } from '../io/safetensors.js';
import type { Engine } from '../tensor/engine.js';
import { Tokenizer } from '../tokenizers/tokenizer.js';
import { GPT } from './gpt.js';

export type PretrainedModel = GPT;

/** Builds the model a checkpoint's config names (`model_type`), with its weights and tokenizer. */
export function modelFromCheckpoint(engine: Engine, ck: Checkpoint, where = 'checkpoint'): PretrainedModel {
  const cfg = ck.config.parsed;
  const get = (n: string) => {
    const t = ck.tensors.tensors.get(n);
    return t ? { shape: t.shape, data: getFloat32(ck.tensors, n) } : undefined;
  };
  const names = [...ck.tensors.tensors.keys()];
  switch (cfg.model_type) {
    case 'gpt2': {
      const model = new GPT(engine, cfg);
      model.loadHF(get, names);
      if (ck.tokenizer) model.tokenizer = Tokenizer.fromJson(ck.tokenizer);
      return model;
    }
    default:
      throw new ArgumentError(`${where}: model_type ${cfg.model_type} is not supported yet (gpt2 is)`);
  }
}

/** Loads a checkpoint folder (config.json + model.safetensors [+ tokenizer.json]) into the engine. */
export async function loadModel(engine: Engine, dir: string): Promise<PretrainedModel> {
  const { readCheckpoint } = await import('../io/checkpoint.js');
  return modelFromCheckpoint(engine, await readCheckpoint(dir), dir);
}
