/** Plain-text corpora for language modelling: a file, a folder of files, or the embedded Brown corpus. */
import { ArgumentError } from '../errors.js';
import { brownDocuments, brownText } from './brown.js';

export interface TextDocument {
  id: string;
  text: string;
}

const TEXT_FILE = /\.(txt|md|text|csv|json|jsonl|html?|xml|tex|rst|py|js|ts|c|h|rs|go|java)$/i;

/**
 * Documents of a corpus: 'brown' (500 documents, tags stripped); a file (one document per block of
 * text separated by a blank line, so a held-out split by document is possible); a folder (one
 * document per text file, recursively, in name order).
 */
export async function loadTextDocuments(spec: string): Promise<TextDocument[]> {
  if (spec === 'brown') return brownDocuments().map((d) => ({ id: d.id, text: brownText(d) }));
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  let stat;
  try {
    stat = await fs.stat(spec);
  } catch {
    throw new ArgumentError(`--data ${spec}: no such file or folder (or pass 'brown' for the embedded Brown corpus)`);
  }
  if (stat.isFile()) {
    const text = await fs.readFile(spec, 'utf8');
    const blocks = text.split(/\n\s*\n/).filter((b) => b.trim().length > 0);
    return blocks.map((b, i) => ({ id: `${path.basename(spec)}#${i}`, text: b }));
  }
  const out: TextDocument[] = [];
  const walk = async (dir: string) => {
    for (const name of (await fs.readdir(dir)).sort()) {
      const p = path.join(dir, name);
      const s = await fs.stat(p);
      if (s.isDirectory()) await walk(p);
      else if (TEXT_FILE.test(name)) out.push({ id: path.relative(spec, p), text: await fs.readFile(p, 'utf8') });
    }
  };
  await walk(spec);
  if (out.length === 0) throw new ArgumentError(`--data ${spec}: the folder has no text files`);
  return out;
}

/** Sentences of a document: its lines, each cut after ., ! or ? (and a closing quote or bracket). */
export function splitSentences(text: string): string[] {
  return text.split(/\n+|(?<=[.!?]["')\]]?)\s+/).map((s) => s.trim()).filter(Boolean);
}
