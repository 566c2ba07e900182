import { OutOfMemoryError } from '../errors.js';

export const ALIGN = 64;
const PAGE = 65536;
/** The step region is taken from the persistent heap in chunks of at least this size. */
const STEP_CHUNK = 8 * 2 ** 20;

const alignUp = (n: number, a = ALIGN) => Math.ceil(n / a) * a;

interface Block {
  ptr: number;
  size: number;
}

/** A position in the step region (`stepMark()`), to rewind to with `rewindStep()`. */
export interface StepMark {
  readonly chunk: number;
  readonly offset: number;
}

/** Bytes of the engine's memory in use now and at most since the last `resetPeak()` (see Engine.memoryStats). */
export interface ArenaStats {
  /** Persistent blocks held (parameters, gradients, optimizer state, scratch), step chunks not counted. */
  persistentBytes: number;
  /** Step region in use: every chunk before the current one, whole, plus the current chunk's offset. */
  stepBytes: number;
  /** persistentBytes + stepBytes. */
  currentBytes: number;
  /** The highest currentBytes seen since the engine was made or resetPeak(). */
  peakBytes: number;
  /** Persistent blocks plus the step chunks' full sizes: what the arena holds from the memory. */
  reservedBytes: number;
}

/**
 * The host's allocator over the engine's one linear memory, above the module's static data.
 * Persistent blocks (parameters, gradients, optimizer state, KV caches) come from a first-fit free list
 * with coalescing. Per-step blocks (activations) are bumped out of chunks that are themselves persistent
 * blocks, and `resetStep()` rewinds them without freeing: a loop that asks for the same sizes each step
 * stops allocating after its first step, and never fragments. Every block is 64-byte aligned.
 */
export class Arena {
  private top: number;
  private readonly free: Block[] = [];
  private readonly used = new Map<number, number>();
  private readonly chunks: Block[] = [];
  private chunk = 0;
  private offset = 0;
  /** Highest address ever handed out (bytes). */
  highWater: number;
  /** Bytes held by persistent blocks, step chunks included (kept as blocks come and go). */
  private held = 0;
  /** Bytes of the step chunks (all of them, whole). */
  private chunkBytes = 0;
  /** Bytes of the chunks before the current one. */
  private chunksBefore = 0;
  private peak = 0;

  constructor(
    private readonly memory: WebAssembly.Memory,
    readonly base: number,
    readonly limitBytes: number,
  ) {
    this.top = alignUp(base);
    this.highWater = this.top;
  }

  /** Bytes currently held by persistent blocks (step chunks included). */
  get usedBytes(): number {
    return this.held;
  }

  /** What is in use now and the peak (see ArenaStats). */
  get stats(): ArenaStats {
    const persistentBytes = this.held - this.chunkBytes;
    const stepBytes = this.stepInUse();
    return {
      persistentBytes,
      stepBytes,
      currentBytes: persistentBytes + stepBytes,
      peakBytes: Math.max(this.peak, persistentBytes + stepBytes),
      reservedBytes: this.held,
    };
  }

  /** Starts the peak over from what is in use now. */
  resetPeak(): void {
    this.peak = this.held - this.chunkBytes + this.stepInUse();
  }

  private stepInUse(): number {
    return this.chunk < this.chunks.length ? this.chunksBefore + this.offset : this.chunksBefore;
  }

  private notePeak(): void {
    const now = this.held - this.chunkBytes + this.stepInUse();
    if (now > this.peak) this.peak = now;
  }

  /** A persistent block of at least `bytes` bytes, 64-byte aligned. */
  alloc(bytes: number, what = 'allocation'): number {
    const ptr = this.allocBlock(bytes, what);
    this.notePeak();
    return ptr;
  }

  private allocBlock(bytes: number, what: string): number {
    const size = alignUp(Math.max(bytes, 1));
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.size < size) continue;
      const ptr = b.ptr;
      if (b.size === size) this.free.splice(i, 1);
      else {
        b.ptr += size;
        b.size -= size;
      }
      this.used.set(ptr, size);
      this.held += size;
      return ptr;
    }
    const ptr = this.top;
    this.ensure(ptr + size, bytes, what);
    this.top = ptr + size;
    this.highWater = Math.max(this.highWater, this.top);
    this.used.set(ptr, size);
    this.held += size;
    return ptr;
  }

  /** Returns a persistent block. Freeing a pointer twice, or one never allocated, is a bug and throws. */
  release(ptr: number): void {
    const size = this.used.get(ptr);
    if (size === undefined) throw new Error(`simdformer: free of a pointer not allocated here (${ptr})`);
    this.used.delete(ptr);
    this.held -= size;
    let i = 0;
    while (i < this.free.length && this.free[i]!.ptr < ptr) i++;
    this.free.splice(i, 0, { ptr, size });
    // coalesce with the next, then the previous block
    const next = this.free[i + 1];
    if (next && ptr + size === next.ptr) {
      this.free[i]!.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.ptr + prev.size === ptr) {
      prev.size += this.free[i]!.size;
      this.free.splice(i, 1);
    }
    // a free block at the top gives its room back to the bump pointer
    const last = this.free[this.free.length - 1];
    if (last && last.ptr + last.size === this.top) {
      this.top = last.ptr;
      this.free.pop();
    }
  }

  /** A per-step block, valid until the next `resetStep()`. */
  allocStep(bytes: number): number {
    const size = alignUp(Math.max(bytes, 1));
    while (this.chunk < this.chunks.length) {
      const c = this.chunks[this.chunk]!;
      if (this.offset + size <= c.size) {
        const ptr = c.ptr + this.offset;
        this.offset += size;
        this.notePeak();
        return ptr;
      }
      this.chunksBefore += c.size;
      this.chunk++;
      this.offset = 0;
    }
    const chunkSize = Math.max(size, STEP_CHUNK);
    const ptr = this.allocBlock(chunkSize, 'per-step allocation');
    this.chunks.push({ ptr, size: chunkSize });
    this.chunkBytes += chunkSize;
    this.chunk = this.chunks.length - 1;
    this.offset = size;
    this.notePeak();
    return ptr;
  }

  /** Where the step region stands now: blocks handed out after it are released by `rewindStep(mark)`. */
  stepMark(): StepMark {
    return { chunk: this.chunk, offset: this.offset };
  }

  /**
   * Rewinds the step region to a mark (a stack discipline inside a step: gradient checkpointing frees a
   * block's recomputed activations and their gradients this way). Every step block handed out after the
   * mark is invalid after this; the ones before it stay.
   */
  rewindStep(mark: StepMark): void {
    if (mark.chunk > this.chunk || (mark.chunk === this.chunk && mark.offset > this.offset))
      throw new Error('simdformer: rewindStep to a mark past the step region in use');
    for (let i = mark.chunk; i < this.chunk; i++) this.chunksBefore -= this.chunks[i]!.size;
    this.chunk = mark.chunk;
    this.offset = mark.offset;
  }

  /** Rewinds the step region: every per-step block is invalid after this. */
  resetStep(): void {
    this.chunk = 0;
    this.offset = 0;
    this.chunksBefore = 0;
  }

  /** Returns the step region's chunks to the persistent heap (after training, say). */
  releaseStep(): void {
    for (const c of this.chunks) this.release(c.ptr);
    this.chunks.length = 0;
    this.chunkBytes = 0;
    this.resetStep();
  }

  /** Grows the memory so that bytes [0, end) exist, or throws OutOfMemoryError. */
  private ensure(end: number, requested: number, what: string): void {
    if (end > this.limitBytes) throw new OutOfMemoryError(requested, this.limitBytes, what);
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    // grow geometrically (at least 1/8 more), within the limit, to keep grow calls rare
    const want = Math.min(this.limitBytes, Math.max(end, have + have / 8));
    const pages = Math.ceil((want - have) / PAGE);
    try {
      this.memory.grow(pages);
    } catch {
      throw new OutOfMemoryError(
        requested,
        this.limitBytes,
        `${what} (the host refused to grow memory to ${have + pages * PAGE} bytes)`,
      );
    }
  }
}
