import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { asCausalLM, loadModel } from '../../src/models/load.js';
import { Engine } from '../../src/tensor/engine.js';
import { fixtureDir } from '../io/fixtures.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('simdformer generate --quantize int8', () => {
  const from = fixtureDir('hf-tiny-random-gpt2');

  it("prints the greedy continuation of the library's int8 model; other values are refused", async () => {
    const prompt = 'Hello world';
    const g = cli(
      'generate',
      '--from',
      from,
      '--prompt',
      prompt,
      '--max-new',
      '12',
      '--quantize',
      'int8',
      '--threads',
      '1',
    );
    expect(g.stderr).toBe('');
    expect(g.status).toBe(0);
    // the same tokens as loadModel(…, { quantize: 'int8' }) and generate in this process
    const e = await Engine.create({ threads: 1 });
    const m = asCausalLM(await loadModel(e, from, { quantize: 'int8' }));
    const tok = m.tokenizer!;
    const out: number[] = [];
    for await (const id of m.generate(tok.encode(prompt, undefined, { addSpecialTokens: false }).ids, {
      maxNewTokens: 12,
      eosTokenId: m.config.eos_token_id ?? undefined,
    }))
      out.push(id);
    await e.dispose();
    expect(out.length).toBeGreaterThan(0);
    expect(g.stdout).toBe(`${prompt}${tok.decode(out)}\n`);

    const bad = cli('generate', '--from', from, '--prompt', 'a', '--quantize', 'int4', '--threads', '1');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--quantize takes int8, got "int4"/);
    expect(cli('generate', '--help').stdout).toMatch(/--quantize +'int8': weight-only int8/);
  });
});
