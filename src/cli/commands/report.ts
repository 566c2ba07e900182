import type { G2pLog } from '../../recipes/g2p.js';
import { lineChart } from '../svg.js';

/** Reads <dir>/metrics.jsonl and writes <dir>/loss.svg (training and validation loss); returns its path. */
export async function writeLossCurve(dir: string): Promise<string> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const lines = (await fs.readFile(path.join(dir, 'metrics.jsonl'), 'utf8')).split('\n').filter(Boolean);
  const rows = lines.map((l) => JSON.parse(l) as { step: number; loss: number; valLoss?: number });
  const svg = lineChart('Loss', 'step', 'cross-entropy (nats per token)', [
    { name: 'training', points: rows.map((r) => [r.step, r.loss]), color: '#1f77b4' },
    {
      name: 'validation',
      points: rows.filter((r) => r.valLoss !== undefined).map((r) => [r.step, r.valLoss!]),
      color: '#d62728',
    },
  ]);
  const file = path.join(dir, 'loss.svg');
  await fs.writeFile(file, svg);
  return file;
}

/** Reads a G2P run's <dir>/metrics.jsonl and writes <dir>/g2p.svg (validation word and phoneme error, %); returns its path. */
export async function writeG2pCurve(dir: string): Promise<string> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const lines = (await fs.readFile(path.join(dir, 'metrics.jsonl'), 'utf8')).split('\n').filter(Boolean);
  const rows = lines.map((l) => JSON.parse(l) as G2pLog);
  const averaged = rows.filter((r) => r.emaValWer !== undefined);
  const svg = lineChart('Grapheme-to-phoneme, validation (greedy)', 'step', 'error (%)', [
    { name: 'word error', points: rows.map((r) => [r.step, 100 * r.valWer]), color: '#d62728' },
    { name: 'phoneme error', points: rows.map((r) => [r.step, 100 * r.valPer]), color: '#1f77b4' },
    ...(averaged.length
      ? [
          {
            name: 'word error, averaged weights',
            points: averaged.map((r) => [r.step, 100 * r.emaValWer!] as [number, number]),
            color: '#ff9896',
          },
          {
            name: 'phoneme error, averaged weights',
            points: averaged.map((r) => [r.step, 100 * r.emaValPer!] as [number, number]),
            color: '#aec7e8',
          },
        ]
      : []),
  ]);
  const file = path.join(dir, 'g2p.svg');
  await fs.writeFile(file, svg);
  return file;
}
