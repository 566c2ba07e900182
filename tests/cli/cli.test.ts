import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
/** The first tab-separated column of each line (predict's words or labels). */
const firstColumn = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => l.split('\t')[0]);
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('the simdformer command', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simdformer-cli-'));
    const para = (i: number) =>
      `Paragraph ${i}. The cat sat on the mat ${i % 3} times, and the dog watched it ${i % 4} times.`;
    await writeFile(join(dir, 'text.txt'), Array.from({ length: 60 }, (_, i) => para(i)).join('\n\n'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true });
  });

  it('pretrain gpt → metrics, checkpoint, loss curve; generate; eval', () => {
    const out = join(dir, 'run');
    const r = cli(
      'pretrain',
      'gpt',
      '--data',
      join(dir, 'text.txt'),
      '--out',
      out,
      '--steps',
      '12',
      '--batch',
      '2',
      '--context',
      '32',
      '--layers',
      '1',
      '--d-model',
      '16',
      '--heads',
      '2',
      '--ffn',
      '32',
      '--threads',
      '1',
      '--eval-every',
      '6',
      '--lr',
      '3e-3',
    );
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/bits per byte/);
    return (async () => {
      const lines = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines[0]).toMatchObject({ step: 0 });
      for (const l of lines) for (const k of ['step', 'loss', 'lr']) expect(typeof l[k]).toBe('number');
      expect(lines.some((l) => typeof l.valLoss === 'number')).toBe(true);
      expect(lines.some((l) => typeof l.tokensPerSecond === 'number')).toBe(true);
      expect(await readFile(join(out, 'loss.svg'), 'utf8')).toMatch(/^<svg/);
      // the run's one save (at its end), the latest generation of its folder
      expect(await readFile(join(out, 'latest'), 'utf8')).toBe('checkpoint-12\n');
      const config = JSON.parse(await readFile(join(out, 'checkpoint-12', 'config.json'), 'utf8'));
      expect(config).toMatchObject({ model_type: 'gpt2', n_layer: 1, n_embd: 16, n_positions: 32, vocab_size: 256 });

      const g = cli('generate', '--from', out, '--prompt', 'The cat', '--max-new', '10', '--threads', '1');
      expect(g.status).toBe(0);
      expect(g.stdout.startsWith('The cat')).toBe(true);
      const s1 = cli(
        'generate',
        '--from',
        out,
        '--prompt',
        'The',
        '--max-new',
        '8',
        '--top-p',
        '0.9',
        '--seed',
        '3',
        '--threads',
        '1',
      );
      const s2 = cli(
        'generate',
        '--from',
        out,
        '--prompt',
        'The',
        '--max-new',
        '8',
        '--top-p',
        '0.9',
        '--seed',
        '3',
        '--threads',
        '1',
      );
      expect(s1.stdout).toBe(s2.stdout);
      // past the 32 positions: stops there and says so on stderr; --slide goes on to --max-new
      const full = cli('generate', '--from', out, '--prompt', 'The cat', '--max-new', '40', '--threads', '1');
      expect(full.status).toBe(0);
      expect(full.stderr).toMatch(
        /^simdformer generate: stopped after 26 of 40 new tokens: the model's 32 positions are full/,
      );
      const slid = cli(
        'generate',
        '--from',
        out,
        '--prompt',
        'The cat',
        '--max-new',
        '40',
        '--slide',
        '--threads',
        '1',
      );
      expect(slid.status).toBe(0);
      expect(slid.stderr).toBe('');
      expect(slid.stdout.startsWith(full.stdout.trimEnd())).toBe(true);

      const ev = cli('eval', '--from', out, '--data', join(dir, 'text.txt'), '--threads', '1');
      expect(ev.status).toBe(0);
      const result = JSON.parse(ev.stdout);
      expect(result.loss).toBeGreaterThan(0);
      expect(result.perplexity).toBeCloseTo(Math.exp(result.loss), 6);
      expect(result.bitsPerByte).toBeGreaterThan(0);
    })();
  });

  it('pretrain bert (MLM + NSP, and --no-nsp) → a BERT checkpoint with its WordPiece tokenizer; held-out MLM and NSP accuracy', async () => {
    for (const nsp of [true, false]) {
      const out = join(dir, nsp ? 'bert' : 'roberta');
      const r = cli(
        'pretrain',
        'bert',
        '--data',
        join(dir, 'text.txt'),
        '--out',
        out,
        '--steps',
        '6',
        '--batch',
        '4',
        '--max-len',
        '32',
        '--layers',
        '1',
        '--hidden',
        '16',
        '--heads',
        '2',
        '--ffn',
        '32',
        '--vocab',
        '120',
        '--threads',
        '1',
        ...(nsp ? [] : ['--no-nsp', '--whole-word']),
      );
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/MLM accuracy \d/);
      if (nsp) expect(r.stdout).toMatch(/NSP accuracy \d/);
      else expect(r.stdout).not.toMatch(/NSP/);
      const config = JSON.parse(await readFile(join(out, 'checkpoint-6', 'config.json'), 'utf8'));
      expect(config).toMatchObject({
        model_type: 'bert',
        architectures: [nsp ? 'BertForPreTraining' : 'BertForMaskedLM'],
        hidden_size: 16,
      });
      const tokenizer = JSON.parse(await readFile(join(out, 'checkpoint-6', 'tokenizer.json'), 'utf8'));
      expect(tokenizer.model.type).toBe('WordPiece');
      // a small text may not fill the vocabulary asked for: the model's matches the tokenizer's
      expect(config.vocab_size).toBe(Object.keys(tokenizer.model.vocab).length);
      expect(config.vocab_size).toBeLessThanOrEqual(120);
      if (!nsp) continue;
      // the finished run resumed: nothing left to train, its held-out figures again; other options: a typed error
      const again = cli(
        'pretrain',
        'bert',
        '--data',
        join(dir, 'text.txt'),
        '--out',
        out,
        '--steps',
        '6',
        '--batch',
        '4',
        '--max-len',
        '32',
        '--threads',
        '1',
        '--resume',
      );
      expect(again.status).toBe(0);
      expect(again.stdout).toMatch(/trained 6 steps .*\nheld-out: loss [\d.]+ \(MLM [\d.]+\), MLM accuracy \d/);
      const other = cli(
        'pretrain',
        'bert',
        '--data',
        join(dir, 'text.txt'),
        '--out',
        out,
        '--steps',
        '6',
        '--batch',
        '2',
        '--max-len',
        '32',
        '--threads',
        '1',
        '--resume',
      );
      expect(other.status).toBe(2);
      expect(other.stderr).toMatch(/started with batch 4 \(given 2\)/);
    }
  });

  it('finetune classify and tag (from a pre-trained BERT and from none), with metrics; predict prints labels with probabilities', async () => {
    const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n');
    const texts = Array.from({ length: 80 }, (_, i) =>
      i % 2
        ? { text: `buy cheap pills now ${i}`, label: 'spam' }
        : { text: `the meeting is at ${i} tomorrow`, label: 'ham' },
    );
    await writeFile(join(dir, 'cls.jsonl'), jsonl(texts));
    const tags = Array.from({ length: 60 }, (_, i) => ({
      words: ['the', i % 2 ? 'cat' : 'dog', 'sat'],
      tags: ['DET', 'NOUN', 'VERB'],
    }));
    await writeFile(join(dir, 'tag.jsonl'), jsonl(tags));
    const pre = join(dir, 'bert');
    const common = ['--epochs', '4', '--batch', '8', '--max-len', '16', '--threads', '1', '--lr', '3e-3'];
    const scratch = ['--layers', '1', '--hidden', '16', '--heads', '2', '--ffn', '32', '--vocab', '100'];
    const c = cli(
      'finetune',
      'classify',
      '--from',
      pre,
      '--data',
      join(dir, 'cls.jsonl'),
      '--out',
      join(dir, 'cls'),
      '--class-weights',
      'balanced',
      ...common,
    );
    expect(c.stderr).not.toMatch(/Error/);
    expect(c.status).toBe(0);
    expect(c.stdout).toMatch(/test: accuracy [\d.]+ %, macro F1/);
    expect(c.stdout).toMatch(/spam +precision/);
    expect(JSON.parse(await readFile(join(dir, 'cls', 'config.json'), 'utf8'))).toMatchObject({
      architectures: ['BertForSequenceClassification'],
      id2label: { 0: 'ham', 1: 'spam' },
    });
    const t = cli(
      'finetune',
      'tag',
      '--from',
      'none',
      '--data',
      join(dir, 'tag.jsonl'),
      '--out',
      join(dir, 'tag'),
      '--class-weights',
      '1,2,1',
      '--pre-norm',
      '--ema',
      '0.9',
      ...common,
      ...scratch,
    );
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(/NOUN +precision/);
    expect(t.stdout).toMatch(/with the live weights instead of their average: validation accuracy [\d.]+ %/);
    expect(JSON.parse(await readFile(join(dir, 'tag', 'config.json'), 'utf8'))).toMatchObject({ pre_norm: true });
    const badWeights = cli(
      'finetune',
      'tag',
      '--from',
      'none',
      '--data',
      join(dir, 'tag.jsonl'),
      '--out',
      join(dir, 'tag2'),
      '--class-weights',
      '1,2',
      ...common,
      ...scratch,
    );
    expect(badWeights.status).toBe(2);
    expect(badWeights.stderr).toMatch(/2 class weights for 3 labels \(DET, NOUN, VERB\)/);
    const p = cli('predict', '--from', join(dir, 'cls'), '--text', 'buy cheap pills now');
    expect(p.status).toBe(0);
    const lines = p.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    expect(lines.map((l) => l[0]).sort()).toEqual(['ham', 'spam']);
    expect(lines.reduce((s, l) => s + Number(l[1]), 0)).toBeCloseTo(1, 3);
    const pt = cli('predict', '--from', join(dir, 'tag'), '--text', 'the cat sat');
    expect(firstColumn(pt.stdout)).toEqual(['the', 'cat', 'sat']);

    // eval scores a saved checkpoint as finetune scored it before saving
    const testAccuracy = (out: string) => Number(/test: accuracy ([\d.]+) %/.exec(out)![1]);
    const evalTask = (...args: string[]) => cli('eval', '--max-len', '16', '--threads', '1', ...args);
    const ec = evalTask('--task', 'classify', '--data', join(dir, 'cls.jsonl'), '--from', join(dir, 'cls'));
    expect(ec.stderr).toBe('');
    const cm = JSON.parse(ec.stdout);
    expect(cm).toMatchObject({ task: 'classify', split: 'test', labels: ['ham', 'spam'] });
    expect(cm.accuracy * 100).toBeCloseTo(testAccuracy(c.stdout), 1);
    const et = JSON.parse(
      evalTask('--task', 'tag', '--data', join(dir, 'tag.jsonl'), '--from', join(dir, 'tag'), '--split', 'validation')
        .stdout,
    );
    expect(et.accuracy * 100).toBeCloseTo(Number(/validation: accuracy ([\d.]+) %/.exec(t.stdout)![1]), 1);
    // a model in an ensemble with itself scores as it does alone
    const self = JSON.parse(
      evalTask(
        '--task',
        'classify',
        '--data',
        join(dir, 'cls.jsonl'),
        '--from',
        join(dir, 'cls'),
        '--ensemble',
        join(dir, 'cls'),
      ).stdout,
    );
    expect(self.models).toHaveLength(2);
    expect(self.confusion).toEqual(cm.confusion);
    // labels are matched by name: the same weights with id2label swapped predict the other label
    const swapped = join(dir, 'cls-swapped');
    await cp(join(dir, 'cls'), swapped, { recursive: true });
    const cfg = JSON.parse(await readFile(join(swapped, 'config.json'), 'utf8'));
    await writeFile(
      join(swapped, 'config.json'),
      JSON.stringify({ ...cfg, id2label: { 0: 'spam', 1: 'ham' }, label2id: { spam: 0, ham: 1 } }),
    );
    const sw = JSON.parse(evalTask('--task', 'classify', '--data', join(dir, 'cls.jsonl'), '--from', swapped).stdout);
    expect(cm.accuracy).toBeGreaterThan(0.6); // so that 1 − accuracy is another number
    expect(sw.accuracy).toBeCloseTo(1 - cm.accuracy, 10);
    const wrongHead = evalTask(
      '--task',
      'classify',
      '--data',
      join(dir, 'cls.jsonl'),
      '--from',
      join(dir, 'cls'),
      '--ensemble',
      join(dir, 'tag'),
    );
    expect(wrongHead.status).toBe(2);
    expect(wrongHead.stderr).toMatch(/expected a BERT or RoBERTa fine-tuned for sequence classification/);
  });

  it('pretrain roberta → a RoBERTa checkpoint with its byte-level BPE; finetune classify and tag from it; eval; predict', async () => {
    const out = join(dir, 'roberta-mlm');
    const args = '--steps 6 --batch 4 --max-len 32 --vocab 300 --layers 1 --hidden 16 --heads 2 --ffn 32 --threads 1';
    const r = cli('pretrain', 'roberta', '--data', join(dir, 'text.txt'), '--out', out, ...args.split(' '));
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/trained 6 steps \(\d+ epochs? of sequences\).*\nheld-out: loss [\d.]+, MLM accuracy \d/);
    expect(r.stdout).not.toMatch(/NSP/);
    // a training run's folder: its latest generation holds the checkpoint
    const latest = (await readFile(join(out, 'latest'), 'utf8')).trim();
    const config = JSON.parse(await readFile(join(out, latest, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'roberta',
      architectures: ['RobertaForMaskedLM'],
      type_vocab_size: 1,
      layer_norm_eps: 1e-5,
      pad_token_id: 1,
      bos_token_id: 0,
      eos_token_id: 2,
      max_position_embeddings: 128 + 2,
    });
    const tokenizer = JSON.parse(await readFile(join(out, latest, 'tokenizer.json'), 'utf8'));
    expect(tokenizer.model.type).toBe('BPE');
    expect(tokenizer.post_processor.type).toBe('RobertaProcessing');
    // NSP and whole-word masking are BERT's options
    expect(cli('pretrain', 'roberta', '--data', 'brown', '--out', out, '--no-nsp').stderr).toMatch(/no-nsp/);
    // --packing reaches the recipe: BERT's sequences packed without NSP only; the two packings named
    const packed = cli(
      'pretrain',
      'bert',
      '--data',
      join(dir, 'text.txt'),
      '--out',
      out,
      '--packing',
      'full-sentences',
    );
    expect(packed.status).toBe(2);
    expect(packed.stderr).toMatch(/packing full-sentences is for pre-training without NSP/);
    const unknown = cli('pretrain', 'roberta', '--data', join(dir, 'text.txt'), '--out', out, '--packing', 'pairs');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/--packing pairs is not one of doc-sentences, full-sentences/);

    const jsonl = (rows: object[]) => rows.map((x) => JSON.stringify(x)).join('\n');
    const texts = Array.from({ length: 40 }, (_, i) => ({
      text: i % 2 ? `buy cheap pills ${i}` : `the meeting is at ${i}`,
      pair: 'today',
      label: i % 2 ? 'spam' : 'ham',
    }));
    await writeFile(join(dir, 'rcls.jsonl'), jsonl(texts));
    const tags = Array.from({ length: 40 }, (_, i) => ({
      words: ['the', i % 2 ? 'cat' : 'dog', 'sat'],
      tags: ['DET', 'NOUN', 'VERB'],
    }));
    await writeFile(join(dir, 'rtag.jsonl'), jsonl(tags));
    const common = ['--epochs', '2', '--batch', '8', '--max-len', '16', '--threads', '1', '--lr', '3e-3'];
    for (const [task, data, architecture] of [
      ['classify', 'rcls.jsonl', 'RobertaForSequenceClassification'],
      ['tag', 'rtag.jsonl', 'RobertaForTokenClassification'],
    ] as const) {
      const f = cli(
        'finetune',
        task,
        '--from',
        out,
        '--data',
        join(dir, data),
        '--out',
        join(dir, `r-${task}`),
        ...common,
      );
      expect(f.stderr).not.toMatch(/Error/);
      expect(f.status).toBe(0);
      expect(JSON.parse(await readFile(join(dir, `r-${task}`, 'config.json'), 'utf8'))).toMatchObject({
        model_type: 'roberta',
        architectures: [architecture],
      });
      const ev = cli(
        'eval',
        '--task',
        task,
        '--data',
        join(dir, data),
        '--from',
        join(dir, `r-${task}`),
        '--max-len',
        '16',
        '--threads',
        '1',
      );
      expect(ev.status).toBe(0);
      expect(JSON.parse(ev.stdout).accuracy * 100).toBeCloseTo(
        Number(/test: accuracy ([\d.]+) %/.exec(f.stdout)![1]),
        1,
      );
    }
    const pt = cli('predict', '--from', join(dir, 'r-tag'), '--text', 'the cat sat');
    expect(firstColumn(pt.stdout)).toEqual(['the', 'cat', 'sat']);
    // a GPT checkpoint is not an encoder
    const gpt = cli(
      'finetune',
      'tag',
      '--from',
      join(dir, 'run'),
      '--data',
      join(dir, 'rtag.jsonl'),
      '--out',
      join(dir, 'x'),
    );
    expect(gpt.status).toBe(2);
    expect(gpt.stderr).toMatch(/expected a BERT or RoBERTa checkpoint with its tokenizer.json, got gpt2/);
  });

  it('pretrain t5 and bart (denoising) → checkpoints; finetune seq2seq --task g2p from scratch and from the pre-trained BART; eval --task g2p', async () => {
    const tiny = ['--d-model', '16', '--layers', '1', '--heads', '2', '--ffn', '32', '--threads', '1'];
    for (const family of ['t5', 'bart']) {
      const out = join(dir, `pre-${family}`);
      const r = cli(
        'pretrain',
        family,
        '--data',
        join(dir, 'text.txt'),
        '--out',
        out,
        '--steps',
        '4',
        '--batch',
        '4',
        '--max-len',
        '32',
        '--vocab',
        '400',
        '--eval-every',
        '2',
        ...tiny,
      );
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/held-out denoising loss \d/);
      const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
      expect(config).toMatchObject({
        model_type: family,
        architectures: [family === 't5' ? 'T5ForConditionalGeneration' : 'BartForConditionalGeneration'],
        d_model: 16,
      });
      const vocab = JSON.parse(await readFile(join(out, 'tokenizer.json'), 'utf8')).added_tokens.map(
        (t: { content: string }) => t.content,
      );
      expect(vocab).toEqual(
        expect.arrayContaining(
          family === 't5' ? ['<pad>', '</s>', '<extra_id_0>', '<extra_id_99>'] : ['<s>', '<pad>', '</s>', '<mask>'],
        ),
      );
    }
    const quick = [
      '--fraction',
      '0.002',
      '--epochs',
      '1',
      '--batch',
      '16',
      '--eval-every',
      '5',
      '--eval-words',
      '10',
      '--test-words',
      '12',
      '--beams',
      '2',
    ];
    for (const [from, arch] of [
      ['none', 't5'],
      [join(dir, 'pre-bart'), 'bart'],
    ] as const) {
      const out = join(dir, `g2p-${arch}`);
      // the T5 trains in two cycles (a warm restart half-way), the first cycle's end saved for a snapshot ensemble
      const cycles = arch === 't5' ? ['--cycles', '1,1', '--restart-lr', '0.5'] : [];
      const r = cli(
        'finetune',
        'seq2seq',
        '--task',
        'g2p',
        '--from',
        from,
        '--arch',
        arch,
        '--out',
        out,
        ...quick,
        ...cycles,
        ...tiny,
      );
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/test \(12 words, beam 2\): word error \d+\.\d+ %, phoneme error \d+\.\d+ %/);
      expect(r.stdout).toMatch(/with the live weights instead of their average: word error \d+\.\d+ %/);
      const test = JSON.parse(await readFile(join(out, 'g2p-test.json'), 'utf8'));
      expect(test).toMatchObject({ beams: 2, words: 12, labelSmoothing: 0.1, ema: 0.999, liveWeights: { words: 12 } });
      expect(test.snapshots).toEqual(arch === 't5' ? [join(out, 'cycle-1')] : undefined);
      const lines = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines[0]).toMatchObject({ step: 5 });
      expect(lines[0].valWer).toBeGreaterThanOrEqual(0);
      expect(lines[0].emaValWer).toBeGreaterThanOrEqual(0);
      expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8')).model_type).toBe(arch);
      expect(await readFile(join(out, 'g2p.svg'), 'utf8')).toMatch(/^<svg[^]*word error/);
    }
    const gen = cli(
      'generate',
      '--from',
      join(dir, 'g2p-t5'),
      '--prompt',
      'c a t',
      '--beams',
      '3',
      '--max-new',
      '6',
      '--threads',
      '1',
    );
    expect(gen.status).toBe(0);
    expect(gen.stdout.trim()).toMatch(/^(\S+ ?){0,6}$/); // symbols of the (barely trained) model, at most 6
    const ev = cli(
      'eval',
      '--from',
      join(dir, 'g2p-t5'),
      '--task',
      'g2p',
      '--words',
      '9',
      '--beams',
      '1',
      '--threads',
      '1',
    );
    expect(ev.status).toBe(0);
    expect(JSON.parse(ev.stdout)).toMatchObject({ task: 'g2p', split: 'test', beams: 1, lengthPenalty: 1, words: 9 });
    const evVal = cli(
      'eval',
      '--from',
      join(dir, 'g2p-t5'),
      '--task',
      'g2p',
      '--split',
      'validation',
      '--words',
      '7',
      '--beams',
      '3',
      '--length-penalty',
      '0.5',
      '--threads',
      '1',
    );
    expect(evVal.status).toBe(0);
    expect(JSON.parse(evVal.stdout)).toMatchObject({
      task: 'g2p',
      split: 'validation',
      beams: 3,
      lengthPenalty: 0.5,
      words: 7,
    });
    const relaxed = cli(
      'eval',
      '--from',
      join(dir, 'g2p-t5'),
      '--task',
      'g2p',
      '--words',
      '9',
      '--beams',
      '1',
      '--threads',
      '2',
      '--simd',
      'relaxed',
    );
    expect(relaxed.status).toBe(0);
    expect(JSON.parse(relaxed.stdout)).toMatchObject({ task: 'g2p', words: 9, threads: 2, simd: 'relaxed' });
    // a model in an ensemble with itself scores as it does alone (the search is checked in the model tests)
    const ensemble = cli(
      'eval',
      '--from',
      join(dir, 'g2p-t5'),
      '--ensemble',
      join(dir, 'g2p-t5'),
      '--task',
      'g2p',
      '--words',
      '9',
      '--beams',
      '1',
      '--threads',
      '1',
    );
    expect(ensemble.stderr).toBe('');
    const { models, ...scores } = JSON.parse(ensemble.stdout);
    expect(models).toEqual([join(dir, 'g2p-t5'), join(dir, 'g2p-t5')]);
    const { wordsPerSecond: _a, ...aloneScores } = JSON.parse(ev.stdout);
    const { wordsPerSecond: _b, ...ensembleScores } = scores;
    expect(ensembleScores).toEqual(aloneScores);
    // the snapshot of the first cycle decodes with the final model as one ensemble
    const snapshot = cli(
      'eval',
      '--from',
      join(dir, 'g2p-t5'),
      '--ensemble',
      join(dir, 'g2p-t5', 'cycle-1'),
      '--task',
      'g2p',
      '--words',
      '9',
      '--beams',
      '2',
      '--threads',
      '1',
    );
    expect(snapshot.stderr).toBe('');
    expect(JSON.parse(snapshot.stdout)).toMatchObject({
      task: 'g2p',
      words: 9,
      models: [join(dir, 'g2p-t5'), join(dir, 'g2p-t5', 'cycle-1')],
    });
    // the BART was fine-tuned from a pre-trained checkpoint with its own vocabulary
    const mismatched = cli(
      'eval',
      '--from',
      join(dir, 'g2p-t5'),
      '--ensemble',
      join(dir, 'g2p-bart'),
      '--task',
      'g2p',
      '--threads',
      '1',
    );
    expect(mismatched.status).toBe(2);
    expect(mismatched.stderr).toMatch(/ensemble: model 2 has vocabulary size \d+, model 1 has \d+/);
    const badPenalty = cli(
      'eval',
      '--from',
      join(dir, 'g2p-t5'),
      '--task',
      'g2p',
      '--length-penalty',
      'long',
      '--threads',
      '1',
    );
    expect(badPenalty.status).toBe(2);
    expect(badPenalty.stderr).toMatch(/--length-penalty must be a number/);
    const wrong = cli('eval', '--from', join(dir, 'pre-t5'), '--data', join(dir, 'text.txt'), '--threads', '1');
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/holds a t5 model; this needs a causal language model/);
  });

  it('bad flags get an error that says what is accepted; --help prints the options', () => {
    const bad = cli('pretrain', 'gpt', '--data', 'x', '--out', 'y', '--stepz', '3');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--stepz/);
    expect(bad.stderr).toMatch(/accepted: .*--steps/);
    const badValue = cli('generate', '--from', 'x', '--prompt', 'a', '--top-p', '2');
    expect(badValue.status).toBe(2);
    expect(badValue.stderr).toMatch(/--top-p must be a number from 0 to 1/);
    const badSimd = cli('generate', '--from', 'x', '--prompt', 'a', '--simd', 'fast');
    expect(badSimd.status).toBe(2);
    expect(badSimd.stderr).toMatch(/--simd fast is not one of plain, relaxed/);
    const help = cli('pretrain', 'gpt', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--tokenizer/);
    expect(help.stdout).toMatch(/--simd +'relaxed': fused multiply-add/);
    const unknown = cli('frobnicate');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/commands: demo, pretrain/);
    const missing = cli('generate', '--from', join(dir, 'nope'), '--prompt', 'a', '--threads', '1');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nope/);
    // the command is named once: `simdformer generate: …`, not `simdformer generate: generate: …`
    const unknownFlag = cli('generate', '--bogus');
    expect(unknownFlag.stderr).toMatch(/^simdformer generate: Unknown option '--bogus'/);
    expect(cli('finetune', 'classify', '--frob').stderr).toMatch(/^simdformer finetune: Unknown option '--frob'/);
    expect(cli('pretrain', 'llama2').stderr).not.toMatch(/pretrain: pretrain:/);
    const version = cli('--version');
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
