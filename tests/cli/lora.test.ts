import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getFloat32, readSafetensors } from '../../src/io/safetensors.js';
import { loadModel, type PretrainedModel } from '../../src/models/load.js';
import { loadLora } from '../../src/models/peft.js';
import { Engine } from '../../src/tensor/engine.js';
import { expectClose } from '../util/check.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', timeout: 120_000 });

const IDS = [
  [3, 7, 11, 4, 9, 15],
  [5, 12, 6, 2, 3, 8],
];
function logits(e: Engine, model: PretrainedModel): Float32Array {
  model.train(false);
  const out = e.noGrad(() =>
    model.kind === 'seq2seq'
      ? model.forward({ inputIds: IDS, decoderInputIds: IDS }).logits.toArray()
      : model.forward({ inputIds: IDS }).logits.toArray(),
  );
  e.endStep();
  return out;
}

/** The merged model in `<out>/merged` computes what the base model with the adapter in `out` computes. */
async function expectMergedIsAdapted(e: Engine, base: string, out: string): Promise<void> {
  const adapted = await loadModel(e, base);
  await loadLora(adapted, out);
  const merged = await loadModel(e, join(out, 'merged'));
  expectClose(logits(e, merged), logits(e, adapted), 1e-4, 1e-5, 'merged checkpoint vs base + adapter');
  adapted.dispose();
  merged.dispose();
}

describe('finetune … --lora: a PEFT adapter folder (and a merged checkpoint) that loads back', () => {
  let dir: string;
  let e: Engine;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simdformer-cli-lora-'));
    e = await Engine.create({ threads: 1 });
  });
  afterAll(async () => {
    await e.dispose();
    await rm(dir, { recursive: true });
  });

  it('finetune causal --lora … --merge on a LLaMA: adapter + merged model; base + adapter = merged', async () => {
    const text = join(dir, 'text.txt');
    const para = (i: number) =>
      `Paragraph ${i}. The cat sat on the mat ${i % 3} times, and the dog saw it ${i % 4} times.`;
    await writeFile(text, Array.from({ length: 40 }, (_, i) => para(i)).join('\n\n'));
    const base = join(dir, 'llama');
    const small = ['--layers', '1', '--d-model', '16', '--heads', '4', '--kv-heads', '2', '--ffn', '24'];
    const p = cli(
      'pretrain',
      'llama',
      '--data',
      text,
      '--out',
      base,
      '--steps',
      '4',
      '--batch',
      '2',
      '--context',
      '32',
      ...small,
      '--threads',
      '1',
    );
    expect(p.stderr).not.toMatch(/Error/);
    expect(p.status).toBe(0);
    const out = join(dir, 'llama-lora');
    const args = [
      'finetune',
      'causal',
      '--from',
      base,
      '--data',
      text,
      '--out',
      out,
      '--batch',
      '2',
      '--context',
      '32',
    ];
    const f = cli(
      ...args,
      '--steps',
      '6',
      '--lr',
      '1e-2',
      '--threads',
      '1',
      '--lora',
      'r=4,alpha=8,dropout=0.05,targets=q_proj+v_proj+o_proj',
      '--merge',
    );
    expect(f.stderr).not.toMatch(/Error/);
    expect(f.status).toBe(0);
    // r 4 on width 16, 4 heads of 4, 2 kv heads: q (4·16 + 16·4) + v (4·16 + 8·4) + o (4·16 + 16·4) = 352
    expect(f.stdout).toMatch(/adapter: +.*\(PEFT LoRA, r 4, alpha 8, 352 trainable parameters\)/);
    expect((await readdir(out)).sort()).toEqual(
      expect.arrayContaining([
        'adapter_config.json',
        'adapter_model.safetensors',
        'merged',
        'tokenizer.json',
        'checkpoint-6', // the adapter with its optimizer state, to resume from
        'latest',
      ]),
    );
    expect((await readdir(out)).some((n) => n === 'config.json' || n === 'model.safetensors')).toBe(false);
    const cfg = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8, lora_dropout: 0.05 });
    expect(cfg.target_modules).toEqual(['q_proj', 'v_proj', 'o_proj']);
    const names = [...readSafetensors(await readFile(join(out, 'adapter_model.safetensors'))).tensors.keys()];
    expect(names).toContain('base_model.model.model.layers.0.self_attn.o_proj.lora_B.weight');
    expect(names).toHaveLength(6);

    const adapted = await loadModel(e, base);
    const baseLogits = logits(e, adapted);
    await loadLora(adapted, out);
    const withAdapter = logits(e, adapted);
    expect(withAdapter).not.toEqual(baseLogits); // trained: B is no longer zero
    const merged = await loadModel(e, join(out, 'merged'));
    expectClose(logits(e, merged), withAdapter, 1e-4, 1e-5, 'merged checkpoint vs base + adapter');
    adapted.dispose();
    merged.dispose();
    // the run saved generations too (a LoRA run resumes): resumed with another rank, a typed error by name
    const other = cli(
      ...args,
      '--steps',
      '6',
      '--threads',
      '1',
      '--lora',
      'r=8,targets=q_proj+v_proj+o_proj',
      '--resume',
    );
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(
      /started with lora "r=4,alpha=8,dropout=0.05,targets=q_proj\+v_proj\+o_proj" \(given "r=8,alpha=8,dropout=0,targets=q_proj\+v_proj\+o_proj"\)/,
    );
    const badFlag = cli(...args, '--lora', 'rank=4');
    expect(badFlag.status).toBe(2);
    expect(badFlag.stderr).toMatch(/unknown key "rank"/);
  });

  it('finetune classify --lora … --merge on a BERT: the adapter holds the head (modules_to_save); base + adapter = merged', async () => {
    const data = join(dir, 'task.jsonl');
    const words = ['red apple', 'green pear', 'blue sky', 'dark night', 'warm sun', 'cold snow'];
    const lines = Array.from({ length: 60 }, (_, i) =>
      JSON.stringify({ text: `${words[i % 6]} ${i}`, label: i % 2 ? 'odd' : 'even' }),
    );
    await writeFile(data, lines.join('\n'));
    const base = join(dir, 'bert');
    const scratch = ['--layers', '1', '--hidden', '16', '--heads', '2', '--ffn', '32', '--vocab', '60'];
    const p = cli(
      'finetune',
      'classify',
      '--from',
      'none',
      '--data',
      data,
      '--out',
      base,
      '--epochs',
      '1',
      '--batch',
      '8',
      ...scratch,
      '--threads',
      '1',
    );
    expect(p.stderr).not.toMatch(/Error/);
    expect(p.status).toBe(0);
    const out = join(dir, 'bert-lora');
    const f = cli(
      'finetune',
      'classify',
      '--from',
      base,
      '--data',
      data,
      '--out',
      out,
      '--epochs',
      '2',
      '--batch',
      '8',
      '--lr',
      '1e-2',
      '--lora',
      'r=2,alpha=4',
      '--merge',
      '--threads',
      '1',
    );
    expect(f.stderr).not.toMatch(/Error/);
    expect(f.status).toBe(0);
    expect(f.stdout).toMatch(/adapter: .*PEFT LoRA, r 2, alpha 4/);
    const cfg = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({
      task_type: 'SEQ_CLS',
      target_modules: ['query', 'value'],
      modules_to_save: ['classifier', 'score'],
    });
    const names = [...readSafetensors(await readFile(join(out, 'adapter_model.safetensors'))).tensors.keys()].sort();
    expect(names).toEqual([
      'base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight',
      'base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight',
      'base_model.model.bert.encoder.layer.0.attention.self.value.lora_A.weight',
      'base_model.model.bert.encoder.layer.0.attention.self.value.lora_B.weight',
      'base_model.model.classifier.bias',
      'base_model.model.classifier.weight',
    ]);
    await expectMergedIsAdapted(e, base, out);
  });

  it('finetune seq2seq --lora … --merge on a T5: held-out loss falls, only q and v change in the merged model; base + adapter = merged', async () => {
    const tiny = ['--eval-words', '10', '--test-words', '4', '--beams', '1', '--batch', '16', '--threads', '1'];
    const base = join(dir, 't5');
    const p = cli(
      'finetune',
      'seq2seq',
      ...['--from', 'none', '--arch', 't5', '--out', base, '--fraction', '0.002', '--epochs', '1', '--eval-every', '0'],
      ...['--d-model', '16', '--layers', '1', '--heads', '2', '--ffn', '32'],
      ...tiny,
    );
    expect(p.stderr).not.toMatch(/Error/);
    expect(p.status).toBe(0);
    const out = join(dir, 't5-lora');
    const from = ['finetune', 'seq2seq', '--from', base, '--out', out, '--fraction', '0.002', ...tiny];
    const f = cli(...from, '--epochs', '2', '--eval-every', '5', '--lr', '1e-2', '--lora', 'r=4,alpha=8', '--merge');
    expect(f.stderr).not.toMatch(/Error/);
    expect(f.status).toBe(0);
    // r 4 on width 16: (4·16 + 16·4) for q and v of the encoder's attention, the decoder's and its cross-attention
    expect(f.stdout).toMatch(/\nadapter: .* \(PEFT LoRA, r 4, alpha 8, 768 trainable parameters\)\nmerged: .*merged\n/);
    const files = await readdir(out);
    expect(files).toEqual(
      expect.arrayContaining([
        'adapter_config.json',
        'adapter_model.safetensors',
        'merged',
        'tokenizer.json',
        'g2p-test.json',
      ]),
    );
    expect(files.some((n) => n === 'config.json' || n === 'model.safetensors')).toBe(false);
    expect(JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'))).toMatchObject({
      task_type: 'SEQ_2_SEQ_LM',
      r: 4,
      lora_alpha: 8,
      target_modules: ['q', 'v'],
    });
    const names = [...readSafetensors(await readFile(join(out, 'adapter_model.safetensors'))).tensors.keys()];
    expect(names).toHaveLength(12);
    expect(names).toContain('base_model.model.decoder.block.0.layer.1.EncDecAttention.v.lora_B.weight');
    // validation loss every 5 steps of 30, measured 4.96 → 4.43; of the averaged adapters (saved), 4.97 → 4.46
    const lines = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { valLoss: number; emaValLoss: number });
    expect(lines.at(-1)!.valLoss).toBeLessThan(lines[0]!.valLoss - 0.2);
    expect(lines.at(-1)!.emaValLoss).toBeLessThan(lines[0]!.emaValLoss - 0.2);

    // the merged model is the base but for the targeted q and v, bit for bit
    const baseFile = readSafetensors(await readFile(join(base, 'model.safetensors')));
    const mergedFile = readSafetensors(await readFile(join(out, 'merged', 'model.safetensors')));
    expect([...mergedFile.tensors.keys()].sort()).toEqual([...baseFile.tensors.keys()].sort());
    const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    for (const name of baseFile.tensors.keys()) {
      const same = bytes(getFloat32(mergedFile, name)).equals(bytes(getFloat32(baseFile, name)));
      expect(same, name).toBe(!/\.(q|v)\.weight$/.test(name));
    }
    await expectMergedIsAdapted(e, base, out);
    // a snapshot ensemble saves whole models: not with --lora
    const cycles = cli(...from, '--lora', 'r=4', '--cycles', '1,1');
    expect(cycles.status).toBe(2);
    expect(cycles.stderr).toMatch(/--cycles .* does not go with --lora/);
  });
});
