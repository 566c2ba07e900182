/**
 * A checkpoint's files wherever they are, for a reader that streams them: a folder on disk
 * (src/io/folder.ts, Node), files a page was handed (File / Blob objects: a dropped folder), or a
 * folder URL (src/io/web-source.ts: fetched, through the Cache API in a browser). No Node APIs here.
 *
 * What a checkpoint's weights are: `model.safetensors`, or `model.safetensors.index.json` naming the
 * shards that hold each tensor; `pytorch_model.bin` is refused with an error that says to convert it.
 */
import { CheckpointError } from '../errors.js';
import { describe } from './describe.js';
import { blobReader, type ByteReader } from './tensor-stream.js';

export const INDEX_FILE = 'model.safetensors.index.json';
/** PyTorch pickles: not read here (they need a Python unpickler); named only to say what to do. */
export const PICKLE_FILES = ['pytorch_model.bin', 'pytorch_model.bin.index.json'];

export interface SourceFile {
  /** Size in bytes. */
  size: number;
  /** A reader from the file's first byte (each call a new one). */
  open(): Promise<ByteReader>;
}

export interface CheckpointSource {
  /** Names the checkpoint in error messages (a folder, a URL). */
  where: string;
  /** One file of the checkpoint by plain name, or undefined when it has none. */
  file(name: string): Promise<SourceFile | undefined>;
}

/** Every byte of a (small) file. */
export async function readWhole(file: SourceFile): Promise<Uint8Array> {
  const reader = await file.open();
  try {
    const out = new Uint8Array(file.size);
    const n = await reader.read(out);
    if (n < file.size) throw new CheckpointError(`file ended after ${n} of its ${file.size} bytes`);
    return out;
  } finally {
    await reader.close();
  }
}

/** A file that holds a JSON object, parsed; errors name the file. */
export async function readJsonFile(
  source: CheckpointSource,
  name: string,
  file: SourceFile,
): Promise<Record<string, unknown>> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(await readWhole(file)));
  } catch (e) {
    throw new CheckpointError(`${source.where}/${name} is not valid JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new CheckpointError(`${source.where}/${name} should hold a JSON object, got ${describe(v)}`);
  }
  return v as Record<string, unknown>;
}

/** Which files hold the weights: one, or the shards an index names (with the tensors each should hold). */
export interface WeightFiles {
  /** File names in the order to read them. */
  files: string[];
  /** For a sharded checkpoint: tensor name → the shard the index says holds it. */
  weightMap?: Map<string, string>;
}

/** Finds the weight files of a checkpoint: model.safetensors, or the index of a sharded one. */
export async function findWeights(source: CheckpointSource): Promise<WeightFiles> {
  if (await source.file('model.safetensors')) return { files: ['model.safetensors'] };
  const index = await source.file(INDEX_FILE);
  if (index) return parseIndex(await readJsonFile(source, INDEX_FILE, index), source.where);
  for (const name of PICKLE_FILES) {
    if (await source.file(name)) {
      throw new CheckpointError(
        `${source.where} has ${name} (PyTorch pickle) but no model.safetensors: pickles are not read here. ` +
          'Convert it to safetensors first, e.g. in Python: AutoModel.from_pretrained(dir).save_pretrained(out, safe_serialization=True)',
      );
    }
  }
  throw new CheckpointError(
    `${source.where} has no model.safetensors (nor ${INDEX_FILE} of a sharded checkpoint); a checkpoint is config.json + model.safetensors [+ tokenizer.json]`,
  );
}

/** model.safetensors.index.json: { metadata?: { total_size }, weight_map: { tensor: shard file } }. */
export function parseIndex(raw: Record<string, unknown>, where: string): WeightFiles {
  const map = raw['weight_map'];
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new CheckpointError(
      `${where}/${INDEX_FILE}: weight_map should be an object of tensor name → shard file, got ${describe(map)}`,
    );
  }
  const weightMap = new Map<string, string>();
  const files: string[] = [];
  for (const [tensor, file] of Object.entries(map as Record<string, unknown>)) {
    if (typeof file !== 'string' || !/^[^/\\]+\.safetensors$/.test(file) || file.startsWith('.')) {
      throw new CheckpointError(
        `${where}/${INDEX_FILE}: weight_map["${tensor}"] should be a .safetensors file name beside the index, got ${describe(file)}`,
      );
    }
    weightMap.set(tensor, file);
    if (!files.includes(file)) files.push(file);
  }
  if (files.length === 0) throw new CheckpointError(`${where}/${INDEX_FILE}: weight_map names no tensor`);
  return { files: files.sort(), weightMap };
}

/**
 * A checkpoint from File or Blob objects (a page's file input or a dropped folder): by file name, the
 * last path segment of `webkitRelativePath` or `name` for a File, the key for a record of Blobs.
 */
export function blobSource(files: Iterable<Blob> | Record<string, Blob>, where = 'the given files'): CheckpointSource {
  const byName = new Map<string, Blob>();
  if (Symbol.iterator in files) {
    for (const f of files as Iterable<Blob>) {
      const path = (f as { webkitRelativePath?: string }).webkitRelativePath || (f as { name?: string }).name;
      if (typeof path !== 'string' || path === '') {
        throw new CheckpointError(
          `a checkpoint file given as a Blob needs a name: pass File objects, or { name: blob }`,
        );
      }
      byName.set(path.split('/').pop()!, f);
    }
  } else {
    for (const [name, blob] of Object.entries(files)) byName.set(name, blob);
  }
  return {
    where,
    file(name) {
      const blob = byName.get(name);
      return Promise.resolve(blob && { size: blob.size, open: () => Promise.resolve(blobReader(blob)) });
    },
  };
}
