import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localFolder } from '../../src/cli/from.js';
import { fixtureDir } from '../io/fixtures.js';
import { startHub, type HubServer } from '../util/hub-server.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** Runs the CLI without blocking this process (the hub stand-in answers from it). */
function cli(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill(), 120_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('--from hf://owner/name (a hub stand-in on 127.0.0.1)', () => {
  let hub: HubServer;
  let cache: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    hub = await startHub({ 'tiny/gpt2': fixtureDir('hf-tiny-random-gpt2') });
    cache = await mkdtemp(join(tmpdir(), 'simdformer-cli-hub-'));
    env = { SIMDFORMER_HUB: hub.url, SIMDFORMER_CACHE: cache };
  });
  afterAll(async () => {
    await hub.close();
    await rm(cache, { recursive: true });
  });

  it('generate downloads the checkpoint with progress lines, then runs from the cache', async () => {
    const args = [
      'generate',
      '--from',
      'hf://tiny/gpt2',
      '--prompt',
      'Hello world',
      '--max-new',
      '5',
      '--threads',
      '1',
    ];
    const first = await cli(env, ...args);
    expect(first.stderr).toMatch(/^downloading model\.safetensors {2}0\.5\/0\.5 MB .* ETA 0:00$/m);
    // a quick local load prints no progress line when stderr is not a terminal (only downloads report)
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout.startsWith('Hello world')).toBe(true);
    expect(first.stdout.length).toBeGreaterThan('Hello world\n'.length);
    const downloads = hub.log.filter((r) => r.path.endsWith('/model.safetensors')).length;
    expect(downloads).toBe(1);

    const second = await cli(env, ...args);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toBe(first.stdout); // greedy: the same text
    expect(second.stderr).not.toMatch(/downloading/);
    expect(hub.log.filter((r) => r.path.endsWith('/model.safetensors')).length).toBe(downloads);
  });

  it('fine-tuning and eval get a cached folder for an hf:// name (a plain path stays as it is)', async () => {
    process.env['SIMDFORMER_HUB'] = hub.url;
    process.env['SIMDFORMER_CACHE'] = cache;
    try {
      const dir = await localFolder('hf://tiny/gpt2');
      expect(dir).toBe(join(cache, 'hub', new URL(hub.url).host.replace(':', '_'), 'tiny/gpt2/resolve/main'));
      expect(await readdir(dir)).toContain('model.safetensors');
      expect(await localFolder('/some/dir')).toBe('/some/dir');
    } finally {
      delete process.env['SIMDFORMER_HUB'];
      delete process.env['SIMDFORMER_CACHE'];
    }
  });
});
