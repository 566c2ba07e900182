import { ArgumentError, CheckpointError } from '../errors.js';
import { CONFIG_FILE, decodeCheckpoint, TOKENIZER_FILE, WEIGHTS_FILE } from '../io/checkpoint-format.js';
import { nodeCheckpointFiles } from '../io/node.js';
import type { Checkpoint } from '../io/checkpoint-format.js';
import { getFloat32 } from '../io/safetensors.js';
import type { Engine } from '../tensor/engine.js';
import { Tokenizer } from '../tokenizers/tokenizer.js';
import { createModel, type PretrainedModel } from './registry.js';
import type { EncoderDecoder } from './seq2seq.js';

export type { PretrainedModel } from './registry.js';

/** Builds the model a checkpoint's config names (`model_type`), with its weights and tokenizer. */
export function modelFromCheckpoint(engine: Engine, ck: Checkpoint): PretrainedModel {
  const model = createModel(engine, ck.config.parsed);
  const get = (n: string) => {
    const t = ck.tensors.tensors.get(n);
    return t ? { shape: t.shape, data: getFloat32(ck.tensors, n) } : undefined;
  };
  try {
    model.loadHF(get, [...ck.tensors.tensors.keys()]);
  } catch (err) {
    model.dispose();
    throw err;
  }
  if (ck.tokenizer) model.tokenizer = Tokenizer.fromJson(ck.tokenizer);
  return model;
}

/**
 * Loads a checkpoint (config.json + model.safetensors [+ tokenizer.json]) into the engine: from a
 * folder (Node, Deno, Bun), or from an http(s) URL of the folder (browsers, workers), whose files are
 * fetched.
 */
export async function loadModel(engine: Engine, from: string | URL): Promise<PretrainedModel> {
  const url = from instanceof URL ? from : /^https?:\/\//.test(from) ? new URL(from) : null;
  if (url && url.protocol !== 'file:') {
    const base = url.href.endsWith('/') ? url.href : `${url.href}/`;
    const files = new Map<string, Uint8Array>();
    for (const name of [CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE]) {
      const r = await fetch(new URL(name, base));
      if (r.ok) files.set(name, new Uint8Array(await r.arrayBuffer()));
      else if (name !== TOKENIZER_FILE) throw new CheckpointError(`${base}${name}: HTTP ${r.status}`);
    }
    return modelFromCheckpoint(
      engine,
      decodeCheckpoint((n) => files.get(n), base),
    );
  }
  const { readCheckpoint } = await nodeCheckpointFiles();
  const dir = url ? decodeURIComponent(url.pathname) : (from as string);
  return modelFromCheckpoint(engine, await readCheckpoint(dir));
}

/** A model of a causal family (GPT-2, LLaMA): the CausalLM of generate/, with loss, forward and save. */
export type CausalModel = Extract<PretrainedModel, { kind: 'causal-lm' }>;

/** The model as a causal language model (GPT-2, LLaMA), or an ArgumentError naming what the checkpoint holds. */
export function asCausalLM(model: PretrainedModel, where = 'checkpoint'): CausalModel {
  if (model.kind === 'causal-lm') return model;
  throw new ArgumentError(
    `${where} holds a ${model.config.model_type} model; this needs a causal language model (gpt2 or llama)`,
  );
}

/** The model as an encoder-decoder (T5, BART), or an ArgumentError naming what the checkpoint holds. */
export function asSeq2Seq(model: PretrainedModel, where = 'checkpoint'): EncoderDecoder {
  if (model.kind === 'seq2seq') return model;
  throw new ArgumentError(
    `${where} holds a ${model.config.model_type} model; this needs an encoder-decoder model (t5 or bart)`,
  );
}
