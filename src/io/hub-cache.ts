/**
 * The Node download cache: a checkpoint folder URL is fetched once into
 *
 *   $SIMDFORMER_CACHE/hub/<host>/<url path>/          (default: $XDG_CACHE_HOME/simdformer, ~/.cache/simdformer)
 *
 * e.g. ~/.cache/simdformer/hub/huggingface.co/openai-community/gpt2/resolve/main/model.safetensors, and
 * loaded from there. A file downloads into `<file>.part` (its etag beside it in `<file>.part.etag`),
 * which a broken transfer leaves in place: the next try asks for the rest with a Range request. A file is
 * renamed into place only with the size the server announced. When every file is there,
 * `.simdformer-complete.json` lists them, and later loads use the folder without asking the server
 * (`refresh: true` downloads again).
 */
import { mkdir, readFile, rename, rm, stat, writeFile, open, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, DownloadError } from '../errors.js';
import { INDEX_FILE, PICKLE_FILES, parseIndex } from './checkpoint-source.js';
import { download, type DownloadOptions } from './hub.js';

const MANIFEST = '.simdformer-complete.json';
/** Files a checkpoint may have beside its weights; fetched when the server has them. */
const OPTIONAL = ['tokenizer.json', 'generation_config.json'];

export interface CacheOptions extends Omit<DownloadOptions, 'onProgress' | 'etag'> {
  /** The cache folder (default: SIMDFORMER_CACHE, else $XDG_CACHE_HOME/simdformer, else ~/.cache/simdformer). */
  cacheDir?: string;
  /** Download again even when the cache has the folder complete. */
  refresh?: boolean;
  onProgress?: (file: string, loaded: number, total: number | undefined) => void;
}

/** The cache root in force. */
export function cacheRoot(cacheDir?: string): string {
  if (cacheDir) return cacheDir;
  const own = process.env['SIMDFORMER_CACHE'];
  if (own) return own;
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg || join(homedir(), '.cache'), 'simdformer');
}

/** The cache folder for a folder URL: <root>/hub/<host[_port]>/<path segments>. */
export function cacheFolder(url: URL, root: string): string {
  const segments = url.pathname
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s).replace(/[^\w.@+-]/g, '_'));
  if (segments.some((s) => s === '.' || s === '..')) {
    throw new CheckpointError(`${url.href}: a path with . or .. segments cannot be cached`);
  }
  const host = url.host.replace(/[^\w.-]/g, '_');
  return join(root, 'hub', host, ...segments);
}

/**
 * Makes sure the cache holds the checkpoint at folder URL `url` (config.json, the weights — one file or
 * the shards of an index — and tokenizer.json / generation_config.json when the server has them), and
 * returns its folder. A checkpoint with only pytorch_model.bin is refused before anything large is fetched.
 */
export async function cachedCheckpoint(url: URL, options: CacheOptions = {}): Promise<string> {
  const dir = cacheFolder(url, cacheRoot(options.cacheDir));
  if (!options.refresh && (await exists(join(dir, MANIFEST)))) return dir;
  await mkdir(dir, { recursive: true });
  const got: string[] = [];
  const fetchFile = async (name: string, required: boolean): Promise<boolean> => {
    const ok = await cacheFile(new URL(name, url).href, join(dir, name), name, options);
    if (ok) got.push(name);
    else if (required) throw new CheckpointError(`${url.href} has no ${name} (HTTP 404)`);
    return ok;
  };
  await fetchFile('config.json', true);
  if (!(await fetchFile('model.safetensors', false))) {
    if (await fetchFile(INDEX_FILE, false)) {
      const raw = JSON.parse(await readFile(join(dir, INDEX_FILE), 'utf8')) as Record<string, unknown>;
      for (const shard of parseIndex(raw, url.href).files) await fetchFile(shard, true);
    } else {
      for (const name of PICKLE_FILES) {
        if (await probe(new URL(name, url).href, options)) {
          throw new CheckpointError(
            `${url.href} has ${name} (PyTorch pickle) but no model.safetensors: pickles are not read here. ` +
              'Convert it to safetensors first, e.g. in Python: AutoModel.from_pretrained(dir).save_pretrained(out, safe_serialization=True)',
          );
        }
      }
      throw new CheckpointError(`${url.href} has no model.safetensors (nor ${INDEX_FILE} of a sharded checkpoint)`);
    }
  }
  for (const name of OPTIONAL) await fetchFile(name, false);
  await writeFile(join(dir, MANIFEST), JSON.stringify({ url: url.href, files: got }, null, 2) + '\n');
  return dir;
}

/** Whether the server has the file (a HEAD request; a failure to ask counts as no). */
async function probe(url: string, options: CacheOptions): Promise<boolean> {
  try {
    const r = await (options.fetch ?? fetch)(url, { method: 'HEAD', signal: options.signal });
    return r.ok;
  } catch {
    return false;
  }
}

/**
 * Downloads one file into `path` through `path.part` (resumed when one is there). A file already in
 * place (an earlier run fetched it) is kept, unless `refresh`. False when the server has no such file.
 */
async function cacheFile(url: string, path: string, name: string, options: CacheOptions): Promise<boolean> {
  if (!options.refresh && (await exists(path))) return true;
  const part = `${path}.part`;
  const etagFile = `${part}.etag`;
  let fh: FileHandle | undefined = await open(part, 'a');
  let offset = (await fh.stat()).size;
  const etag = offset > 0 ? await readFile(etagFile, 'utf8').catch(() => undefined) : undefined;
  try {
    const result = await download(
      url,
      {
        get offset() {
          return offset;
        },
        async write(chunk) {
          let at = 0;
          while (at < chunk.length) at += (await fh!.write(chunk, at, chunk.length - at)).bytesWritten;
          offset += chunk.length;
        },
        async begin(tag) {
          // kept beside the partial file, so a later try resumes only if the file is unchanged (If-Range)
          if (tag) await writeFile(etagFile, tag);
        },
        async restart() {
          await fh!.truncate(0);
          await fh!.close();
          fh = await open(part, 'w');
          offset = 0;
        },
      },
      {
        ...options,
        etag,
        onProgress: (loaded, total) => {
          options.onProgress?.(name, loaded, total);
        },
      },
    );
    await fh.close();
    fh = undefined;
    if (!result) {
      await rm(part, { force: true });
      await rm(etagFile, { force: true });
      return false;
    }
    const size = (await stat(part)).size;
    if (size !== result.size) throw new DownloadError(`${url}: ${size} bytes on disk, ${result.size} received`);
    await rename(part, path);
    await rm(etagFile, { force: true });
    return true;
  } finally {
    await fh?.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
