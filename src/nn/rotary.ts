import { SequenceTooLongError } from '../errors.js';
import type { Engine } from '../tensor/engine.js';
import { ropeTable } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * The cos/sin table of rotary position embeddings (LLaMA), shared by every layer of a model: [positions,
 * headDim], computed on first use up to the positions asked for and grown geometrically (never past
 * `maxPositions`). Not a parameter: nothing learns it and checkpoints do not hold it.
 */
export class RotaryEmbedding {
  private current: Tensor | null = null;
  /** Tables outgrown during a step may still be read by its backward: kept until dispose(). */
  private readonly retired: Tensor[] = [];

  constructor(
    readonly engine: Engine,
    readonly headDim: number,
    readonly theta: number,
    readonly maxPositions: number,
  ) {}

  /** A table covering positions [0, length). */
  table(length: number): Tensor {
    if (length > this.maxPositions) {
      throw new SequenceTooLongError(
        `position ${length - 1} is past the ${this.maxPositions} positions of the rotary embedding (max_position_embeddings)`,
      );
    }
    const have = this.current?.shape[0] ?? 0;
    if (length > have) {
      const grown = Math.min(this.maxPositions, Math.max(length, 2 * have, 256));
      if (this.current) this.retired.push(this.current);
      this.current = ropeTable(this.engine, this.headDim, this.theta, grown);
    }
    return this.current!;
  }

  dispose(): void {
    for (const t of [...this.retired, ...(this.current ? [this.current] : [])]) t.dispose();
    this.retired.length = 0;
    this.current = null;
  }
}
