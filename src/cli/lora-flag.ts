/** The `--lora` and `--merge` flags of the finetune commands: `--lora r=8,alpha=16[,dropout=0.05,targets=q_proj+v_proj]`. */
import { ArgumentError } from '../errors.js';
import type { LoraOptions, LoraSummary } from '../models/lora.js';
import type { LoraChoice } from '../recipes/lora-run.js';
import type { FlagSpec, Parsed } from './args.js';

export const LORA_FLAGS: Record<'lora' | 'merge', FlagSpec> = {
  lora: {
    type: 'string',
    help: "train LoRA adapters only (the base frozen), saved in PEFT's layout: r=8,alpha=16[,dropout=0.05,targets=q_proj+v_proj] (default targets: PEFT's for the model type)",
  },
  merge: {
    type: 'boolean',
    help: 'with --lora: also fold the adapters into the weights and save that model in <out>/merged',
    default: false,
  },
};

/** `r=8,alpha=16,dropout=0.05,targets=a+b` → LoraOptions; an ArgumentError naming a bad part. */
export function parseLoraFlag(text: string): LoraOptions {
  const out: LoraOptions = {};
  for (const part of text.split(',').filter((p) => p.trim() !== '')) {
    const [key, value, ...more] = part.split('=').map((s) => s.trim());
    if (value === undefined || value === '' || more.length > 0)
      throw new ArgumentError(`--lora: ${JSON.stringify(part)} is not key=value (keys: r, alpha, dropout, targets)`);
    const num = (min: number, max: number, integer = false) => {
      const v = Number(value);
      if (!(v >= min && v <= max) || (integer && !Number.isInteger(v)))
        throw new ArgumentError(
          `--lora: ${key}=${value} is not ${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`,
        );
      return v;
    };
    if (key === 'r') out.r = num(1, 65536, true);
    else if (key === 'alpha') out.alpha = num(1e-6, 1e6);
    else if (key === 'dropout') out.dropout = num(0, 0.99);
    else if (key === 'targets') out.targetModules = value.split('+').filter((t) => t !== '');
    else throw new ArgumentError(`--lora: unknown key ${JSON.stringify(key)} (keys: r, alpha, dropout, targets)`);
  }
  return out;
}

/** The recipe options the flags give (src/recipes/lora-run.ts). */
export function loraChoice(values: Parsed): LoraChoice {
  return {
    lora: values.lora === undefined ? undefined : parseLoraFlag(String(values.lora)),
    merge: values.merge === true,
  };
}

/**
 * What a LoRA run left in `out`: `adapter: <out> (PEFT LoRA, r 8, alpha 16, 294,912 trainable parameters)` and,
 * with --merge, `merged: <out>/merged`; each label padded to `width` characters.
 */
export function loraSavedText(out: string, lora: LoraSummary, merge: boolean, width = 0): string {
  const label = (name: string) => `${name}:`.padEnd(width);
  const trainable = lora.trainable.toLocaleString('en-US');
  return (
    `${label('adapter')} ${out} (PEFT LoRA, r ${lora.r}, alpha ${lora.alpha}, ${trainable} trainable parameters)\n` +
    (merge ? `${label('merged')} ${out}/merged\n` : '')
  );
}
