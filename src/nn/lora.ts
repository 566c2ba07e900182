/**
 * LoRA (Hu et al. 2021) on one part of a linear layer's output, as PEFT's `lora.Linear` computes it:
 *   y = base(x) + (alpha / r) · B(A(dropout(x))),   A [r, in], B [out, r] (plain torch Linear layouts,
 * whatever the base weight's layout). A starts kaiming-uniform with a = √5 (uniform ±1/√in), B at zero, so
 * a new adapter changes nothing until it is trained. The adapter is not a parameter of the layer: the layer's
 * checkpoint stays the base model's, and the adapter saves on its own (src/models/peft.ts).
 */
import { ArgumentError } from '../errors.js';
import type { Rng } from '../rng.js';
import { dropout, loraAddInto, loraMergeInto, type OutputColumns } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Linear } from './layers.js';

export interface LoraHyper {
  r: number;
  alpha: number;
  /** Dropout on the adapter's input, in training mode only. */
  dropout: number;
  /** rsLoRA: scale by alpha / √r instead of alpha / r (PEFT's `use_rslora`). */
  rsLora?: boolean;
}

export class LoraAdapter {
  /** [r, in] */
  readonly A: Tensor;
  /** [width, r] */
  readonly B: Tensor;
  /** alpha / r (alpha / √r with rsLoRA). */
  readonly scaling: number;

  constructor(
    readonly target: Linear,
    readonly cols: OutputColumns,
    readonly hyper: LoraHyper,
    rng: Rng,
  ) {
    const { r, alpha } = hyper;
    if (!(Number.isInteger(r) && r >= 1)) throw new ArgumentError(`lora: r must be an integer ≥ 1, got ${r}`);
    if (!(Number.isFinite(alpha) && alpha > 0)) throw new ArgumentError(`lora: alpha must be > 0, got ${alpha}`);
    if (!(hyper.dropout >= 0 && hyper.dropout < 1))
      throw new ArgumentError(`lora: dropout must be in [0, 1), got ${hyper.dropout}`);
    const e = target.engine;
    const In = target.inFeatures;
    const bound = 1 / Math.sqrt(In); // kaiming_uniform_(a=√5): gain √(2/(1+5)), bound gain·√(3/fan_in)
    this.A = e.parameter(
      'lora_A.weight',
      Float32Array.from({ length: r * In }, () => (2 * rng.float() - 1) * bound),
      [r, In],
    );
    this.B = e.parameter('lora_B.weight', new Float32Array(cols.width * r), [cols.width, r]);
    this.scaling = hyper.rsLora ? alpha / Math.sqrt(r) : alpha / r;
  }

  /** Adds the update to y, the target's output for x (training: dropout on the adapter's input). */
  addTo(y: Tensor, x: Tensor, training: boolean): void {
    const p = this.hyper.dropout;
    const xd = training && p > 0 ? dropout(x, p, x.engine.nextDropoutSeed()) : x;
    loraAddInto(y, xd, this.A, this.B, this.scaling, this.cols);
  }

  /**
   * Folds the update into the base weight (W += s·B·A on the adapter's rows; W [in, out] gets the transpose)
   * and detaches the adapter from its layer. The layer's forward is then the same, within float rounding.
   */
  merge(): void {
    const t = this.target;
    loraMergeInto(t.weight, t.layout, this.A, this.B, this.scaling, this.cols);
    this.detach();
  }

  /** Takes the adapter off its layer and releases its weights. */
  detach(): void {
    this.target.adapters = this.target.adapters.filter((a) => a !== this);
    this.A.dispose();
    this.B.dispose();
  }
}
