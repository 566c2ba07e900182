// The page: talks to the engine in a worker, draws the loss, streams generated text.
import { drawLossChart } from './chart.js';
import { tabMemoryMiB } from './budget.js';
import { SAMPLE } from './sample.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module' });
const losses: number[] = [];
const tuneLosses: number[] = [];
const state = { steps: 0, done: false, generated: '', tuned: false, loaded: false, mode: '', before: '', after: '' };
(window as unknown as { __simdformer: typeof state & { losses: number[]; tuneLosses: number[] } }).__simdformer =
  Object.assign(state, { losses, tuneLosses });

$<HTMLTextAreaElement>('text').value = SAMPLE;
$('mode').textContent = crossOriginIsolated
  ? 'This page is cross-origin isolated: the engine uses threads (Web Workers over shared memory).'
  : 'This page is not cross-origin isolated: the engine runs on one thread (the single-thread build).';
for (const id of ['temperature', 'topK', 'topP']) {
  const input = $<HTMLInputElement>(id);
  input.oninput = () => ($(`${id}Value`).textContent = input.value);
}
// greedy decoding has no temperature, top-k or top-p
const greedy = $<HTMLInputElement>('greedy');
greedy.onchange = () => {
  for (const id of ['temperature', 'topK', 'topP']) $<HTMLInputElement>(id).disabled = greedy.checked;
};

const draw = () => drawLossChart($<HTMLCanvasElement>('chart'), losses);
const threadsHere = () => (crossOriginIsolated ? Math.max(1, navigator.hardwareConcurrency || 2) : 1);
const mib = (bytes: number) => {
  const m = bytes / 2 ** 20;
  return `${m < 10 ? m.toFixed(1) : Math.round(m).toLocaleString()} MiB`;
};

// the tab's budget: half the device's memory where the browser tells it (Chromium: navigator.deviceMemory)
$<HTMLInputElement>('ckMemory').value = String(
  tabMemoryMiB((navigator as Navigator & { deviceMemory?: number }).deviceMemory),
);
let dropped: File[] | undefined;
$<HTMLInputElement>('ckFiles').onchange = (e) => {
  dropped = [...((e.target as HTMLInputElement).files ?? [])];
  $('ckDrop').textContent = `${dropped.length} files chosen`;
};
const drop = $('ckDrop');
drop.ondragover = (e) => e.preventDefault();
drop.ondrop = async (e) => {
  e.preventDefault();
  dropped = await droppedFiles(e.dataTransfer!);
  drop.textContent = `${dropped.length} files dropped: ${dropped.map((f) => f.name).join(', ')}`;
};
worker.onmessage = (e) => {
  const m = e.data;
  if (m.type === 'started') {
    $('mode').textContent += ` Running ${m.threads} thread(s), ${m.build} build.`;
  } else if (m.type === 'step') {
    losses.push(m.loss);
    state.steps = m.step + 1;
    $('status').textContent =
      `step ${m.step + 1}: loss ${m.loss.toFixed(3)}, ${Math.round(m.tokensPerSecond).toLocaleString()} tokens/s`;
    if (m.step % 5 === 0) draw();
  } else if (m.type === 'trained') {
    draw();
    $('status').textContent =
      `done: ${m.steps} steps in ${m.seconds.toFixed(1)} s, final loss ${m.loss.toFixed(3)}. Generate below.`;
    state.done = true;
    $<HTMLButtonElement>('train').disabled = false;
    $<HTMLButtonElement>('generate').disabled = false;
    $<HTMLButtonElement>('save').disabled = false;
  } else if (m.type === 'token') {
    state.generated += m.text;
    $('out').textContent += m.text;
  } else if (m.type === 'generated') {
    const how = m.greedy ? 'greedy' : `sampled with seed ${m.seed}`;
    const why: Record<string, string> = {
      length: 'the tokens asked for',
      eos: 'an end-of-text token',
      stop: 'a stop string',
      context: 'the context is full',
    };
    const f = m.finish as { finishReason: string; newTokens: number; slides: number } | undefined;
    $('genStatus').textContent = f
      ? `done: ${f.newTokens} tokens, ${how}; stopped at ${why[f.finishReason] ?? f.finishReason}` +
        (f.slides > 0 ? ` (the context window slid ${f.slides} time${f.slides === 1 ? '' : 's'})` : '')
      : `done, ${how}`;
    $<HTMLButtonElement>('generate').disabled = false;
  } else if (m.type === 'files') {
    const box = $('downloads');
    box.textContent = '';
    for (const f of m.files as { name: string; bytes: Uint8Array<ArrayBuffer> }[]) {
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([f.bytes]));
      a.download = f.name;
      a.textContent = `${f.name} (${f.bytes.length.toLocaleString()} bytes)`;
      box.append(a);
      a.click();
    }
  } else if (m.type === 'loading') {
    const p = m as { phase: string; file: string; loaded: number; total?: number };
    $('ckStatus').textContent =
      `${p.phase === 'download' ? `downloading ${p.file}` : 'loading weights'}: ${mib(p.loaded)}` +
      (p.total ? ` of ${mib(p.total)}` : '');
  } else if (m.type === 'loaded') {
    state.loaded = true;
    state.mode = m.mode;
    $('ckStatus').textContent =
      `${m.modelType}, ${m.parameters.toLocaleString()} parameters, ${mib(m.memory.usedBytes)} of ` +
      `${mib(m.memory.limitBytes)} in use: ${m.mode === 'full' ? 'full fine-tuning fits' : 'adapters (LoRA) fit'}`;
    $<HTMLButtonElement>('ckLoad').disabled = false;
    $<HTMLButtonElement>('ckTune').disabled = false;
  } else if (m.type === 'before') {
    state.before = m.text;
    $('ckBefore').textContent = $<HTMLInputElement>('ckPrompt').value + m.text;
  } else if (m.type === 'tuneStep') {
    tuneLosses.push(m.loss);
    $('ckTuneStatus').textContent =
      `${m.mode} step ${m.step + 1}: loss ${m.loss.toFixed(3)}, ${Math.round(m.tokensPerSecond).toLocaleString()} ` +
      `tokens/s, ${mib(m.memory.usedBytes)} of ${mib(m.memory.limitBytes)} in use`;
    drawLossChart($<HTMLCanvasElement>('ckChart'), tuneLosses);
  } else if (m.type === 'after') {
    state.after = m.text;
    $('ckAfter').textContent = $<HTMLInputElement>('ckPrompt').value + m.text;
  } else if (m.type === 'tuned') {
    $('ckTuneStatus').textContent =
      `done: ${m.steps} steps in ${m.seconds.toFixed(1)} s, final loss ${m.loss.toFixed(3)}; ` +
      $('ckTuneStatus').textContent!.replace(/^.*?tokens\/s, /, '');
    state.tuned = true;
    $<HTMLButtonElement>('ckTune').disabled = false;
  } else if (m.type === 'error') {
    $('status').textContent = `error: ${m.message}`;
    if (m.during === 'load' || m.during === 'tune') {
      $(m.during === 'load' ? 'ckStatus' : 'ckTuneStatus').textContent = `error: ${m.message}`;
      $<HTMLButtonElement>('ckLoad').disabled = false;
      $<HTMLButtonElement>('ckTune').disabled = !state.loaded;
    }
    $<HTMLButtonElement>('train').disabled = false;
    $<HTMLButtonElement>('generate').disabled = !state.done;
  }
};

$('train').onclick = () => {
  losses.length = 0;
  state.done = false;
  $<HTMLButtonElement>('train').disabled = true;
  const threads = threadsHere();
  worker.postMessage({
    type: 'train',
    text: $<HTMLTextAreaElement>('text').value,
    steps: Number($<HTMLInputElement>('steps').value),
    threads,
    seed: Number($<HTMLInputElement>('seed').value),
  });
};
$('generate').onclick = () => {
  $<HTMLButtonElement>('generate').disabled = true;
  state.generated = '';
  // each click samples with a new seed (shown when it is done, to be set for the same text again)
  const set = $<HTMLInputElement>('genSeed').value.trim();
  const seed = set === '' ? crypto.getRandomValues(new Uint32Array(1))[0]! : Number(set);
  $('genStatus').textContent = 'generating…';
  $('out').textContent = $<HTMLInputElement>('prompt').value;
  worker.postMessage({
    type: 'generate',
    prompt: $<HTMLInputElement>('prompt').value,
    maxNewTokens: 120,
    greedy: greedy.checked,
    temperature: Number($<HTMLInputElement>('temperature').value),
    topK: Number($<HTMLInputElement>('topK').value),
    topP: Number($<HTMLInputElement>('topP').value),
    seed,
  });
};
$('ckLoad').onclick = () => {
  const url = $<HTMLInputElement>('ckUrl').value.trim();
  if (!url && !dropped?.length) {
    $('ckStatus').textContent = 'give a URL or a folder first';
    return;
  }
  state.loaded = false;
  $<HTMLButtonElement>('ckLoad').disabled = true;
  $<HTMLButtonElement>('ckTune').disabled = true;
  $('ckStatus').textContent = 'loading…';
  worker.postMessage({
    type: 'load',
    from: url || dropped,
    threads: threadsHere(),
    memoryMiB: Number($<HTMLInputElement>('ckMemory').value),
  });
};
$('ckTune').onclick = () => {
  tuneLosses.length = 0;
  state.tuned = false;
  $<HTMLButtonElement>('ckTune').disabled = true;
  $('ckTuneStatus').textContent = 'generating before fine-tuning…';
  worker.postMessage({
    type: 'tune',
    text: $<HTMLTextAreaElement>('text').value,
    steps: Number($<HTMLInputElement>('ckSteps').value),
    lr: Number($<HTMLInputElement>('ckLr').value),
    seed: Number($<HTMLInputElement>('seed').value),
    prompt: $<HTMLInputElement>('ckPrompt').value,
  });
};

/** The files of a dropped folder (its entries read recursively) or of dropped files. */
async function droppedFiles(data: DataTransfer): Promise<File[]> {
  const entries = [...data.items].map((i) => i.webkitGetAsEntry()).filter((e) => e !== null);
  if (entries.length === 0) return [...data.files];
  const files: File[] = [];
  const walk = async (entry: FileSystemEntry): Promise<void> => {
    if (entry.isFile) {
      files.push(await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail)));
      return;
    }
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
      if (batch.length === 0) break;
      for (const e of batch) await walk(e);
    }
  };
  for (const e of entries) await walk(e);
  return files;
}
$('save').onclick = () => worker.postMessage({ type: 'save' });
