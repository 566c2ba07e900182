/**
 * A tokenizer from a Hugging Face tokenizer.json. Encoding and decoding go through
 * `@huggingface/tokenizers` (normalisers, pre-tokenizers, BPE/WordPiece models, post-processors and
 * decoders as the Rust library defines them); this class adds the roles of special tokens and the JSON
 * to save beside a checkpoint.
 */
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { TokenizerError } from '../errors.js';
import { MAX_JSON_DEPTH, valueNestsWithin } from '../io/json.js';

export interface Encoded {
  ids: number[];
  tokenTypeIds: number[];
  attentionMask: number[];
}

const ROLES = {
  padId: ['[PAD]', '<pad>', '<|pad|>'],
  unkId: ['[UNK]', '<unk>'],
  clsId: ['[CLS]', '<s>'],
  sepId: ['[SEP]', '</s>'],
  maskId: ['[MASK]', '<mask>'],
  bosId: ['<s>', '<|endoftext|>'],
  eosId: ['</s>', '<|endoftext|>'],
} as const;

/** Ids a tokenizer.json may give (the bound config.json's vocab_size has). */
const MAX_VOCAB = 2 ** 24;

/**
 * Runs a call into @huggingface/tokenizers: what it throws on a malformed tokenizer.json (whose parts are
 * built lazily, so some faults show only when a text is encoded) becomes a TokenizerError.
 */
function guard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TokenizerError) throw err;
    throw new TokenizerError(`tokenizer.json ${what}: ${(err as Error)?.message ?? String(err)}`);
  }
}

export class Tokenizer {
  private readonly inner: HFTokenizer;
  readonly vocabSize: number;
  readonly padId?: number;
  readonly unkId?: number;
  readonly clsId?: number;
  readonly sepId?: number;
  readonly maskId?: number;
  readonly bosId?: number;
  readonly eosId?: number;

  private constructor(private readonly json: Record<string, unknown>) {
    const added = json.added_tokens ?? [];
    if (
      !Array.isArray(added) ||
      !added.every(
        (t: unknown) =>
          t !== null &&
          typeof t === 'object' &&
          typeof (t as { content?: unknown }).content === 'string' &&
          Number.isSafeInteger((t as { id?: unknown }).id) &&
          (t as { id: number }).id >= 0 &&
          (t as { id: number }).id < MAX_VOCAB,
      )
    ) {
      throw new TokenizerError(
        `tokenizer.json "added_tokens" should be an array of {"id": 0 ≤ id < ${MAX_VOCAB}, "content": "…"}`,
      );
    }
    this.inner = guard('could not be read', () => new HFTokenizer(json, {}));
    const model = json.model as { vocab?: Record<string, number> | [string, number][] } | undefined;
    const vocab = model?.vocab;
    let size = Array.isArray(vocab) ? vocab.length : vocab && typeof vocab === 'object' ? Object.keys(vocab).length : 0;
    for (const t of added as { id: number }[]) size = Math.max(size, t.id + 1);
    this.vocabSize = size;
    const ids = this as { -readonly [K in keyof typeof ROLES]?: number };
    for (const [role, names] of Object.entries(ROLES) as [keyof typeof ROLES, readonly string[]][]) {
      for (const n of names) {
        const id = this.tokenToId(n);
        if (id !== undefined && this.isSpecial(n)) {
          ids[role] = id;
          break;
        }
      }
    }
  }

  /** From a tokenizer.json object or its text. */
  static fromJson(json: Record<string, unknown> | string): Tokenizer {
    let obj: unknown = json;
    if (typeof json === 'string') {
      try {
        obj = JSON.parse(json);
      } catch (err) {
        throw new TokenizerError(`tokenizer.json is not JSON: ${(err as Error).message}`);
      }
    }
    if (!obj || typeof obj !== 'object' || !('model' in obj)) throw new TokenizerError('tokenizer.json has no "model"');
    if (!valueNestsWithin(obj)) {
      throw new TokenizerError(`tokenizer.json nests objects or arrays deeper than ${MAX_JSON_DEPTH} levels`);
    }
    return new Tokenizer(obj as Record<string, unknown>);
  }

  private isSpecial(token: string): boolean {
    return ((this.json.added_tokens as { content: string; special?: boolean }[] | undefined) ?? []).some(
      (t) => t.content === token && t.special !== false,
    );
  }

  /** Ids of a text (or a pair: `[CLS] A [SEP] B [SEP]` with type ids 0/1 where the post-processor says so). */
  encode(text: string, pair?: string, options: { addSpecialTokens?: boolean } = {}): Encoded {
    const e = guard('could not encode a text', () =>
      this.inner.encode(text, {
        text_pair: pair ?? null,
        add_special_tokens: options.addSpecialTokens ?? true,
        return_token_type_ids: true,
      }),
    );
    // @huggingface/tokenizers' WordLevel gives `undefined` for a word outside its vocabulary where the
    // Rust library gives the unknown token's id
    let ids: (number | undefined)[] = e.ids;
    if (ids.some((id) => id === undefined)) {
      if (this.unkId === undefined)
        throw new TokenizerError(
          `text has a token outside the vocabulary and the tokenizer has no unknown token: ${JSON.stringify(text.slice(0, 80))}`,
        );
      ids = ids.map((id) => id ?? this.unkId!);
    }
    // RobertaProcessing: the Rust library gives every token type 0 (RoBERTa has one token type);
    // @huggingface/tokenizers gives the pair's tokens 1
    const roberta = (this.json.post_processor as { type?: string } | null)?.type === 'RobertaProcessing';
    return {
      ids: ids as number[],
      tokenTypeIds: roberta ? ids.map(() => 0) : (e.token_type_ids ?? ids.map(() => 0)),
      attentionMask: e.attention_mask,
    };
  }

  /**
   * The ids of one word of a text given as words (tagging), as transformers' `is_split_into_words` reads
   * it: a byte-level BPE gets the space that separates the word from the one before (`add_prefix_space`),
   * so the word has the ids it has inside running text (`Ġthe`, not `the`). No special tokens.
   */
  encodeWord(word: string): number[] {
    const byteLevel = (this.json.pre_tokenizer as { type?: string } | null)?.type === 'ByteLevel';
    return this.encode(byteLevel ? ` ${word}` : word, undefined, { addSpecialTokens: false }).ids;
  }

  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return guard('could not decode ids', () =>
      this.inner.decode(Array.from(ids), {
        skip_special_tokens: options.skipSpecialTokens ?? false,
        clean_up_tokenization_spaces: false,
      }),
    );
  }

  tokenToId(token: string): number | undefined {
    return guard('could not look up a token', () => this.inner.token_to_id(token));
  }

  idToToken(id: number): string | undefined {
    return guard('could not look up an id', () => this.inner.id_to_token(id));
  }

  /** The object to save as tokenizer.json. */
  toJson(): Record<string, unknown> {
    return this.json;
  }
}
