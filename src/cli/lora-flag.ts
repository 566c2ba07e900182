/** The `--lora` and `--merge` flags of the finetune commands: `--lora r=8,alpha=16[,dropout=0.05,targets=q_proj+v_proj]`. */
import { ArgumentError } from '../errors.js';
import type { LoraOptions } from '../models/lora.js';
import type { FlagSpec } from './args.js';

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
