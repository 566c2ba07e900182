/**
 * Every error simdformer throws on purpose is a `SimdformerError`, with a `code` a program can switch
 * on and a message that says what was wrong and what was expected.
 */
export class SimdformerError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A request for memory past the engine's configured maximum (wasm32 addresses 4 GiB at most). */
export class OutOfMemoryError extends SimdformerError {
  readonly requestedBytes: number;
  readonly limitBytes: number;
  constructor(requestedBytes: number, limitBytes: number, what = 'allocation') {
    super(
      'OUT_OF_MEMORY',
      `out of memory: ${what} of ${requestedBytes} bytes would pass the engine's limit of ${limitBytes} bytes ` +
        `(${(limitBytes / 2 ** 20).toFixed(0)} MiB; raise maxMemoryMiB, at most 4096)`,
    );
    this.requestedBytes = requestedBytes;
    this.limitBytes = limitBytes;
  }
}

/** Tensor shapes that do not fit the operation. */
export class ShapeError extends SimdformerError {
  constructor(message: string) {
    super('SHAPE', message);
  }
}

/** A safetensors file that is truncated, corrupt or not what its header says. */
export class SafetensorsError extends SimdformerError {
  constructor(message: string) {
    super('SAFETENSORS', message);
  }
}

/** A config.json that is missing fields, has wrong types, or names an unknown model type. */
export class ConfigError extends SimdformerError {
  constructor(message: string) {
    super('CONFIG', message);
  }
}

/** A checkpoint folder that is missing files or whose weights do not match its config. */
export class CheckpointError extends SimdformerError {
  constructor(message: string) {
    super('CHECKPOINT', message);
  }
}

/**
 * A LoRA adapter that does not fit its base model: an adapter_config.json that is not LoRA or asks for what is
 * not built, a target module the model does not have, a tensor of the wrong shape, missing or left over.
 */
export class AdapterError extends SimdformerError {
  constructor(message: string) {
    super('ADAPTER', message);
  }
}

/** A token id outside [0, vocabSize). */
export class TokenIdError extends SimdformerError {
  constructor(message: string) {
    super('TOKEN_ID', message);
  }
}

/** A sequence longer than the model's context. */
export class SequenceTooLongError extends SimdformerError {
  constructor(message: string) {
    super('SEQUENCE_TOO_LONG', message);
  }
}

/** A NaN or infinite loss: training stops at this step. */
export class NonFiniteLossError extends SimdformerError {
  readonly step: number;
  constructor(step: number, loss: number) {
    super(
      'NON_FINITE_LOSS',
      `loss became ${loss} at step ${step}; training stopped (the last good checkpoint is kept)`,
    );
    this.step = step;
  }
}

/** A worker thread that died or could not start. */
export class WorkerError extends SimdformerError {
  constructor(message: string) {
    super('WORKER', message);
  }
}

/** Bad arguments to a public function or the command line. */
export class ArgumentError extends SimdformerError {
  constructor(message: string) {
    super('ARGUMENT', message);
  }
}

/**
 * Something a model quantized to int8 for inference cannot do: train (its weights are frozen int8), be saved
 * (checkpoints hold float weights), or run a backward pass through a quantized weight.
 */
export class QuantizedError extends SimdformerError {
  constructor(message: string) {
    super('QUANTIZED', message);
  }
}

/** A tokenizer.json that cannot be read or a tokenizer that cannot be trained. */
export class TokenizerError extends SimdformerError {
  constructor(message: string) {
    super('TOKENIZER', message);
  }
}

/**
 * A package simdformer loads only when asked for it (a data set that is an optional peer dependency) is
 * not installed. `install` is the command that installs it.
 */
export class MissingDependencyError extends SimdformerError {
  readonly packageName: string;
  readonly install: string;
  constructor(packageName: string, install: string, message: string) {
    super('MISSING_DEPENDENCY', message);
    this.packageName = packageName;
    this.install = install;
  }
}

/** A download that failed: an HTTP error, or a transfer that broke more often than it may be resumed. */
export class DownloadError extends SimdformerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DOWNLOAD', message);
    if (options && 'cause' in options) this.cause = options.cause;
  }
}
