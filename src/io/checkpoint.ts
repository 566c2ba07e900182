/**
 * Checkpoint folders on a Node file system. The formats are in checkpoint-format.ts (no Node there).
 *
 * Two layouts. A model folder (`writeCheckpoint`, what `model.save(dir)` writes) holds the Hugging Face files
 * directly. A training run's folder (`writeGeneration`, what `pretrain … --checkpoint-every` writes) holds
 * whole generations and a pointer to the newest:
 *
 *   <dir>/checkpoint-<step>/   config.json, model.safetensors, tokenizer.json, optimizer.safetensors, ...
 *   <dir>/latest               one line, the name of the newest generation (as DeepSpeed's `latest`)
 *
 * A generation is written into a temporary folder, every file and the folder flushed, then renamed into place
 * whole; `latest` is then replaced by rename and the run's folder flushed. Renames within a folder are atomic,
 * so a reader (`resolveCheckpointDir`) never sees files of two saves, whenever the writer dies. The last `keep`
 * generations are kept. Temporaries of killed saves (`.tmp-…`) are removed by the next save.
 *
 * A model folder is written file by file: each file to a temporary name, flushed, renamed over the old one,
 * config.json last; that is atomic per file, not across files, which is enough for a folder written once.
 *
 * Every file operation goes through `fsOp`, which calls the hook set by `setCheckpointFileHook` before and after
 * it: a crash test kills its child process at each one (tests/io/checkpoint-kill.test.ts). Failures of the file
 * system (a full disk, a read-only folder) are CheckpointErrors that name the folder and keep the cause.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, SimdformerError } from '../errors.js';
import {
  CONFIG_FILE,
  GENERATION_CONFIG_FILE,
  TOKENIZER_FILE,
  WEIGHTS_FILE,
  type Checkpoint,
  type CheckpointInput,
  decodeCheckpoint,
  encodeCheckpoint,
} from './checkpoint-format.js';

export type { Checkpoint, CheckpointInput } from './checkpoint-format.js';

/** The pointer file of a training run's folder: the name of its newest generation. */
export const LATEST_FILE = 'latest';
/** Generations are `checkpoint-<step>` folders, as transformers' Trainer names them. */
export const GENERATION_PREFIX = 'checkpoint-';
const GENERATION_NAME = /^checkpoint-(\d+)$/;
/** Everything a save writes before it is in place starts so; what a killed save left is removed by the next. */
const TEMP_PREFIX = '.tmp-';
/** Temporary names of model-folder saves of earlier versions: `.config.json.tmp-<pid>-<hex>`. */
const OLD_TEMP = /^\..+\.tmp-\d+-[0-9a-f]+$/;

// ------------------------------------------------------------------------------------ file operations

/** What a crash test sees: each file operation of a save, before and after it runs. */
export type CheckpointFileHook = (when: 'before' | 'after', op: string, path: string) => void;
let hook: CheckpointFileHook | null = null;

/** Sets (or clears, with null) the hook called around every file operation of a save. For crash tests. */
export function setCheckpointFileHook(h: CheckpointFileHook | null): void {
  hook = h;
}

async function fsOp<T>(op: string, path: string, run: () => Promise<T>): Promise<T> {
  hook?.('before', op, path);
  const out = await run();
  hook?.('after', op, path);
  return out;
}

async function writeFileSynced(path: string, bytes: Uint8Array): Promise<void> {
  const fh = await fsOp('open', path, () => open(path, 'wx'));
  try {
    await fsOp('write', path, () => fh.writeFile(bytes));
    await fsOp('sync', path, () => fh.sync());
  } finally {
    await closeFile(path, fh);
  }
}

/** Closes fh; when the close fails (or a crash test fails it before it runs), the handle is released all the same. */
async function closeFile(path: string, fh: FileHandle): Promise<void> {
  try {
    await fsOp('close', path, () => fh.close());
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  }
}

/** Makes a folder's entries (renames, new files) durable. Windows cannot open folders: there it is a no-op. */
async function syncFolder(dir: string): Promise<void> {
  let fh;
  try {
    fh = await fsOp('open', dir, () => open(dir, 'r'));
  } catch (e) {
    if (process.platform === 'win32') return;
    throw e;
  }
  try {
    await fsOp('sync', dir, () => fh.sync());
  } catch (e) {
    // some file systems refuse fsync on a folder (EINVAL): their renames are as durable as they get
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
  } finally {
    await closeFile(dir, fh);
  }
}

const removeAll = (path: string) => fsOp('rm', path, () => rm(path, { recursive: true, force: true }));

const tempSuffix = () => `${process.pid}-${randomBytes(4).toString('hex')}`;

/** A file system's failure as a CheckpointError naming the folder (typed errors pass through). */
function saveFailed(dir: string, e: unknown, kept: string): Error {
  if (e instanceof SimdformerError) return e;
  const err = e as NodeJS.ErrnoException;
  const err2 = new CheckpointError(
    `could not save the checkpoint in ${dir}: ${err.message ?? String(e)}${err.code ? ` (${err.code})` : ''}; ${kept}`,
  );
  (err2 as { cause?: unknown }).cause = e;
  return err2;
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code === 'ENOTDIR') throw new CheckpointError(`checkpoint path ${dir} is not a folder`);
    throw new CheckpointError(`could not list the checkpoint folder ${dir}: ${(e as Error).message}`);
  }
}

/** Removes what killed saves left in `dir`: `.tmp-…` entries, and the temporary files of earlier versions. */
async function removeTemporaries(dir: string): Promise<void> {
  for (const name of await entries(dir)) {
    if (name.startsWith(TEMP_PREFIX) || OLD_TEMP.test(name)) await removeAll(join(dir, name));
  }
}

// --------------------------------------------------------------------------------------- model folder

/**
 * Writes a model folder: config.json, model.safetensors [, tokenizer.json, generation_config.json, extra
 * files], each atomically (temporary name, flush, rename), config.json last. Files the new checkpoint does not
 * have (an old tokenizer.json) are left in place.
 */
export async function writeCheckpoint(dir: string, input: CheckpointInput): Promise<void> {
  await writeFolderFiles(dir, encodeCheckpoint(input)); // bad input throws in encodeCheckpoint, before the disk is touched
}

/**
 * Writes files into a folder (made if missing) as writeCheckpoint does: each to a temporary name, flushed,
 * renamed in the order given (so the last is the one a reader checks for); other files are left in place.
 */
export async function writeFolderFiles(dir: string, files: Iterable<[string, Uint8Array]>): Promise<void> {
  const kept = 'the files already there are as they were, each whole';
  try {
    await fsOp('mkdir', dir, () => mkdir(dir, { recursive: true }));
    await removeTemporaries(dir);
  } catch (e) {
    throw saveFailed(dir, e, kept);
  }
  const suffix = tempSuffix();
  const pending: { tmp: string; final: string }[] = [];
  try {
    for (const [name, bytes] of files) {
      const tmp = join(dir, `${TEMP_PREFIX}${name}-${suffix}`);
      pending.push({ tmp, final: join(dir, name) });
      await writeFileSynced(tmp, bytes);
    }
    while (pending.length > 0) {
      const { tmp, final } = pending[0]!;
      await fsOp('rename', tmp, () => rename(tmp, final));
      pending.shift();
    }
    await syncFolder(dir);
  } catch (e) {
    await Promise.all(pending.map(({ tmp }) => unlink(tmp).catch(() => undefined)));
    throw saveFailed(dir, e, kept);
  }
}

/** A file of a folder, or undefined when there is none (other failures are CheckpointErrors naming it). */
export async function readFolderFile(dir: string, name: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(join(dir, name)));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new CheckpointError(`could not read ${join(dir, name)}: ${(e as Error).message}${code ? ` (${code})` : ''}`);
  }
}

// ------------------------------------------------------------------------------------ run generations

/** The generations in `dir` by step, oldest first. */
async function generations(dir: string): Promise<{ name: string; step: number }[]> {
  return (await entries(dir))
    .map((name) => ({ name, m: GENERATION_NAME.exec(name) }))
    .filter((x) => x.m !== null)
    .map((x) => ({ name: x.name, step: Number(x.m![1]) }))
    .sort((a, b) => a.step - b.step);
}

/** The generation `latest` names, or undefined when there is no pointer. A bad pointer is a CheckpointError. */
async function readLatest(dir: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, LATEST_FILE), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new CheckpointError(`could not read ${join(dir, LATEST_FILE)}: ${(e as Error).message}`);
  }
  const name = text.trim();
  if (!GENERATION_NAME.test(name)) {
    throw new CheckpointError(
      `${join(dir, LATEST_FILE)} should name a generation such as "checkpoint-100", it holds ${JSON.stringify(text.slice(0, 40))}`,
    );
  }
  return name;
}

export interface GenerationOptions {
  /** Generations to keep, this one included (--save-total-limit); at least 1. */
  keep: number;
}

/**
 * Saves `files` (file name → bytes, as encodeCheckpoint gives them, plus a run's own files) as generation
 * `checkpoint-<step>` of the run in `dir`, makes it the latest in one atomic step, and removes generations past
 * the last `keep` and what killed saves left. Returns the generation's folder. On failure (a full disk, a
 * read-only folder) it throws a CheckpointError and the previous generation is still the latest, whole.
 */
export async function writeGeneration(
  dir: string,
  step: number,
  files: ReadonlyMap<string, Uint8Array>,
  options: GenerationOptions,
): Promise<string> {
  if (!Number.isSafeInteger(step) || step < 0)
    throw new CheckpointError(`generation step ${step}: expected an integer ≥ 0`);
  if (!Number.isSafeInteger(options.keep) || options.keep < 1)
    throw new CheckpointError(`keep ${options.keep}: expected at least 1 generation`);
  for (const name of files.keys()) {
    if (!/^[^/\\]+$/.test(name) || name === '.' || name === '..')
      throw new CheckpointError(`generation file ${JSON.stringify(name)}: expected a plain file name`);
  }
  const name = `${GENERATION_PREFIX}${step}`;
  const target = join(dir, name);
  let previous: string | undefined;
  const kept = () =>
    previous === name
      ? `${name} was saved and is the latest`
      : previous
        ? `the latest generation is still ${previous}, whole`
        : 'no generation was saved';
  let tmp: string | undefined;
  try {
    previous = await readLatest(dir);
    await fsOp('mkdir', dir, () => mkdir(dir, { recursive: true }));
    if (previous === name) {
      throw new CheckpointError(
        `${target} is the latest generation of the run in ${dir}; a save of the same step would replace it in place`,
      );
    }
    await removeTemporaries(dir);

    tmp = join(dir, `${TEMP_PREFIX}${name}-${tempSuffix()}`);
    const t = tmp;
    await fsOp('mkdir', t, () => mkdir(t));
    for (const [file, bytes] of files) await writeFileSynced(join(t, file), bytes);
    await syncFolder(t);
    // a generation of this step that never became the latest (its save died before the pointer moved)
    if ((await entries(dir)).includes(name)) await retire(dir, name);
    await fsOp('rename', t, () => rename(t, target));
    tmp = undefined;

    const pointer = join(dir, `${TEMP_PREFIX}${LATEST_FILE}-${tempSuffix()}`);
    await writeFileSynced(pointer, new TextEncoder().encode(`${name}\n`));
    await fsOp('rename', pointer, () => rename(pointer, join(dir, LATEST_FILE)));
    previous = name;
    await syncFolder(dir);
  } catch (e) {
    if (tmp) await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw saveFailed(dir, e, kept());
  }
  try {
    await prune(dir, step, options.keep);
  } catch (e) {
    throw saveFailed(dir, e, `${name} was saved and is the latest; older generations may remain`);
  }
  return target;
}

/** Renames a generation out of the way (atomic), then deletes it: a kill mid-delete leaves only a temporary. */
async function retire(dir: string, name: string): Promise<void> {
  const away = join(dir, `${TEMP_PREFIX}retired-${name}-${tempSuffix()}`);
  await fsOp('rename', join(dir, name), () => rename(join(dir, name), away));
  await removeAll(away);
}

/** Keeps the latest generation and the `keep − 1` before it; removes the rest (older, or left by another run). */
async function prune(dir: string, latestStep: number, keep: number): Promise<void> {
  const all = await generations(dir);
  const before = keep > 1 ? all.filter((g) => g.step < latestStep).slice(-(keep - 1)) : [];
  const keepNames = new Set([`${GENERATION_PREFIX}${latestStep}`, ...before.map((g) => g.name)]);
  for (const g of all) if (!keepNames.has(g.name)) await retire(dir, g.name);
}

/**
 * Removes a run's generations and its pointer (a run started afresh in the folder of an earlier one). The
 * pointer goes first: a kill part-way leaves older generations, each whole, and no pointer to a missing one.
 */
export async function removeGenerations(dir: string): Promise<void> {
  try {
    await fsOp('rm', join(dir, LATEST_FILE), () => rm(join(dir, LATEST_FILE), { force: true }));
    for (const g of await generations(dir)) await retire(dir, g.name);
    await removeTemporaries(dir);
  } catch (e) {
    throw saveFailed(dir, e, 'its earlier generations may remain, each whole');
  }
}

/**
 * The folder a checkpoint path stands for: the generation `latest` names in a run's folder, else the folder
 * itself when it holds config.json (a model folder, or a run's folder written by versions before generations),
 * else its highest `checkpoint-<step>` (a run whose first pointer was never written), else the folder itself.
 */
export async function resolveCheckpointDir(dir: string): Promise<string> {
  const latest = await readLatest(dir);
  if (latest !== undefined) {
    const gen = join(dir, latest);
    const ok = await stat(gen).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!ok) throw new CheckpointError(`${join(dir, LATEST_FILE)} names ${latest}, which is not a folder in ${dir}`);
    return gen;
  }
  const names = await entries(dir);
  if (names.includes(CONFIG_FILE)) return dir;
  const gens = await generations(dir);
  return gens.length > 0 ? join(dir, gens[gens.length - 1]!.name) : dir;
}

// ------------------------------------------------------------------------------------------- reading

/** Files that do not make a checkpoint readable here, looked for only to say why model.safetensors is missing. */
const HINT_FILES = [`${WEIGHTS_FILE}.index.json`, 'pytorch_model.bin'];

/**
 * Reads a checkpoint: a model folder, or the latest generation of a run's folder (resolveCheckpointDir).
 * Whatever is wrong with the folder or its files is a typed error naming the file.
 */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  try {
    if (!(await stat(path)).isDirectory()) throw new CheckpointError(`checkpoint path ${path} is not a folder`);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new CheckpointError(`checkpoint folder ${path} does not exist`);
    throw new CheckpointError(`could not open the checkpoint folder ${path}: ${(e as Error).message}`);
  }
  const dir = await resolveCheckpointDir(path);
  const files = new Map<string, Uint8Array>();
  for (const name of [CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE, GENERATION_CONFIG_FILE, ...HINT_FILES]) {
    try {
      if (HINT_FILES.includes(name)) {
        await stat(join(dir, name)); // only named in error hints: their presence is enough
        files.set(name, new Uint8Array(0));
      } else {
        const buf = await readFile(join(dir, name));
        files.set(name, new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      if (code === 'EISDIR') throw new CheckpointError(`${join(dir, name)} is a folder, expected a file`);
      throw new CheckpointError(`could not read ${join(dir, name)}: ${(e as Error).message}`);
    }
  }
  return decodeCheckpoint((name) => files.get(name), dir);
}
