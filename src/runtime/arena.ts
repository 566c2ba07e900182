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
    let n = 0;
    for (const size of this.used.values()) n += size;
    return n;
  }

  /** A persistent block of at least `bytes` bytes, 64-byte aligned. */
  alloc(bytes: number, what = 'allocation'): number {
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
      return ptr;
    }
    const ptr = this.top;
    this.ensure(ptr + size, bytes, what);
    this.top = ptr + size;
    this.highWater = Math.max(this.highWater, this.top);
    this.used.set(ptr, size);
    return ptr;
  }

  /** Returns a persistent block. Freeing a pointer twice, or one never allocated, is a bug and throws. */
  release(ptr: number): void {
    const size = this.used.get(ptr);
    if (size === undefined) throw new Error(`simdformer: free of a pointer not allocated here (${ptr})`);
    this.used.delete(ptr);
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
        return ptr;
      }
      this.chunk++;
      this.offset = 0;
    }
    const chunkSize = Math.max(size, STEP_CHUNK);
    const ptr = this.alloc(chunkSize, 'per-step allocation');
    this.chunks.push({ ptr, size: chunkSize });
    this.chunk = this.chunks.length - 1;
    this.offset = size;
    return ptr;
  }

  /** Rewinds the step region: every per-step block is invalid after this. */
  resetStep(): void {
    this.chunk = 0;
    this.offset = 0;
  }

  /** Returns the step region's chunks to the persistent heap (after training, say). */
  releaseStep(): void {
    for (const c of this.chunks) this.release(c.ptr);
    this.chunks.length = 0;
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
