import { lineChart } from '../svg.js';

/** Reads <dir>/metrics.jsonl and writes <dir>/loss.svg (training and validation loss); returns its path. */
export async function writeLossCurve(dir: string): Promise<string> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const lines = (await fs.readFile(path.join(dir, 'metrics.jsonl'), 'utf8')).split('\n').filter(Boolean);
  const rows = lines.map((l) => JSON.parse(l) as { step: number; loss: number; valLoss?: number });
  const svg = lineChart('Loss', 'step', 'cross-entropy (nats per token)', [
    { name: 'training', points: rows.map((r) => [r.step, r.loss]), color: '#1f77b4' },
    { name: 'validation', points: rows.filter((r) => r.valLoss !== undefined).map((r) => [r.step, r.valLoss!]), color: '#d62728' },
  ]);
  const file = path.join(dir, 'loss.svg');
  await fs.writeFile(file, svg);
  return file;
}
