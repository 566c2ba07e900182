/**
 * LoRA in the fine-tuning recipes (`finetune classify|tag|seq2seq|causal --lora … [--merge]`): adapters put on the
 * pre-trained model of `from` in place of training it whole, and what the run leaves in `out`: PEFT's adapter
 * files with the tokenizer beside them (as PEFT folders often have it), and with `merge` the merged model in
 * `<out>/merged`. A run that saves generations for --resume saves the same adapter files in them (resume.ts).
 */
import { join } from 'node:path';
import { ArgumentError } from '../errors.js';
import { applyLora, type LoraModel, type LoraOptions, type LoraSettings, type LoraSummary } from '../models/lora.js';
import { saveLora, type LoraSaveOptions } from '../models/peft.js';
import type { PretrainedModel } from '../models/registry.js';

/** A fine-tuning recipe's LoRA options. */
export interface LoraChoice {
  /**
   * Train LoRA adapters (and a new classification head, PEFT's modules_to_save) on the model of `from`, its
   * weights frozen; `out` then holds the adapter in PEFT's layout instead of a model.
   */
  lora?: LoraOptions;
  /** With `lora`: also fold the adapters into the weights and save that model in `<out>/merged`. */
  merge?: boolean;
}

/**
 * The adapters of the run (undefined without `lora`), put on `model` with the run's seed unless the options
 * give one. An ArgumentError for `merge` without `lora`, or `lora` on a model that is not pre-trained.
 */
export function loraOf(
  model: PretrainedModel,
  choice: LoraChoice,
  from: string | undefined,
  seed: number,
): LoraModel | undefined {
  if (choice.merge && !choice.lora) throw new ArgumentError('--merge goes with --lora');
  if (!choice.lora) return undefined;
  if (from === undefined || from === 'none') throw new ArgumentError('LoRA adapts a pre-trained model: give --from');
  return applyLora(model, { seed, ...choice.lora });
}

/** What a run saves beside its adapter: `from` as the base model's name, and the model's tokenizer. */
export function adapterSaveOptions(lora: LoraModel, from: string | undefined): LoraSaveOptions {
  const tokenizer = lora.model.tokenizer;
  return { baseModel: from, extraFiles: tokenizer && { 'tokenizer.json': JSON.stringify(tokenizer.toJson()) } };
}

/**
 * Saves the run's adapter in `out` and, with `merge`, the merged model in `<out>/merged` (the adapters are then
 * folded into the model's weights and released). Returns the adapter's rank, alpha and size.
 */
export async function saveLoraRun(
  lora: LoraModel,
  out: string,
  from: string | undefined,
  merge: boolean | undefined,
): Promise<LoraSummary> {
  const summary = lora.summary();
  await saveLora(lora, out, adapterSaveOptions(lora, from));
  if (merge) await lora.merge().save(join(out, 'merged'));
  return summary;
}

/**
 * The adapter's settings in --lora's syntax (`r=8,alpha=16,dropout=0.05,targets=q_proj+v_proj`, a pattern as
 * `targets=/…/`), as a LoRA run's saves record them: a resume with other settings is refused by name.
 */
export function loraRunText(s: LoraSettings): string {
  const targets = typeof s.targetModules === 'string' ? `/${s.targetModules}/` : s.targetModules.join('+');
  return (
    `r=${s.r},alpha=${s.alpha},dropout=${s.dropout},targets=${targets}` +
    (s.modulesToSave ? `,save=${s.modulesToSave.join('+')}` : '') +
    (s.rsLora ? ',rslora' : '')
  );
}
