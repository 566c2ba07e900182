import { parseArgs } from 'node:util';
import { ArgumentError } from '../errors.js';
import { Engine, type Simd } from '../tensor/engine.js';
import { tileTrialOf } from '../tensor/kernel-select.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** What the value means and its default, for --help. */
  help: string;
  default?: string | boolean;
  /** Accepted values (for strings), checked and listed in errors. */
  choices?: readonly string[];
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec>;
}

export function helpText(spec: CommandSpec): string {
  const width = Math.max(...Object.keys(spec.flags).map((f) => f.length)) + 4;
  const lines = Object.entries(spec.flags).map(([name, f]) => {
    const def = f.default === undefined ? '' : ` (default ${String(f.default)})`;
    const choices = f.choices ? ` [${f.choices.join('|')}]` : '';
    return `  --${name.padEnd(width)}${f.help}${choices}${def}`;
  });
  return `${spec.summary}\n\nUsage: ${spec.usage}\n\nOptions:\n${lines.join('\n')}\n  --${'help'.padEnd(width)}show this help\n`;
}

export type Parsed = Record<string, string | boolean | undefined>;

/** Parses argv against the spec: unknown flags and bad values are ArgumentErrors that list what is accepted. */
export function parseFlags(spec: CommandSpec, argv: string[]): Parsed | 'help' {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [name, f] of Object.entries(spec.flags)) options[name] = { type: f.type };
  let values: Parsed;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Parsed;
  } catch (err) {
    const msg = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new ArgumentError(
      `${msg}\naccepted: ${Object.keys(spec.flags)
        .map((f) => `--${f}`)
        .join(' ')} --help`,
    );
  }
  if (values.help) return 'help';
  for (const [name, f] of Object.entries(spec.flags)) {
    if (values[name] === undefined && f.default !== undefined) values[name] = f.default;
    const v = values[name];
    if (
      f.choices &&
      typeof v === 'string' &&
      !f.choices.includes(v) &&
      !f.choices.some((c) => c.endsWith(':') && v.startsWith(c))
    ) {
      throw new ArgumentError(`--${name} ${v} is not one of ${f.choices.join(', ')}`);
    }
  }
  return values;
}

export function intFlag(values: Parsed, name: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const raw = values[name];
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(n) || n < min || n > max) {
    throw new ArgumentError(`--${name} must be an integer from ${min} to ${max}, got ${String(raw)}`);
  }
  return n;
}

export function numberFlag(values: Parsed, name: string, min = -Infinity, max = Infinity): number {
  const raw = values[name];
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new ArgumentError(`--${name} must be a number from ${min} to ${max}, got ${String(raw)}`);
  }
  return n;
}

export function stringFlag(values: Parsed, name: string): string {
  const raw = values[name];
  if (typeof raw !== 'string' || raw === '') throw new ArgumentError(`--${name} is required`);
  return raw;
}

/** The flags of every command that runs the engine: its threads and its SIMD build. */
export const ENGINE_FLAGS: Record<'threads' | 'simd', FlagSpec> = {
  threads: { type: 'string', help: "threads, or 'auto' for all cores", default: 'auto' },
  simd: {
    type: 'string',
    help: "'relaxed': fused multiply-add where the runtime has relaxed SIMD (faster; results differ from 'plain' in the last bits)",
    default: 'plain',
    choices: ['plain', 'relaxed'],
  },
};

/** The engine options the ENGINE_FLAGS give. */
export function engineFlags(values: Parsed): { threads: number | 'auto'; simd: Simd } {
  return {
    threads: values.threads === 'auto' ? 'auto' : intFlag(values, 'threads', 1, 256),
    simd: values.simd === 'relaxed' ? 'relaxed' : 'plain',
  };
}

/** Runs `fn` on an engine the ENGINE_FLAGS describe, and disposes it (its threads end) however `fn` ends. */
export async function withEngine<T>(values: Parsed, fn: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await Engine.create(engineFlags(values));
  try {
    return await fn(engine);
  } finally {
    await engine.dispose();
  }
}

/** "1 thread", "2 threads". */
export const threadsText = (n: number): string => `${n} thread${n === 1 ? '' : 's'}`;

/** What the engine runs on: "2 threads, matmul tile auto" (picking from its first products), "… 4x8", "2 threads, relaxed SIMD, matmul tile 2x16", or with plain SIMD why. */
export const engineText = (e: Engine): string =>
  threadsText(e.threads) +
  (e.simd === 'relaxed' ? ', relaxed SIMD' : e.simdFallback ? `, plain SIMD (${e.simdFallback})` : '') +
  `, matmul tile ${tileTrialOf(e.runtime) ? 'auto' : e.kernels.matmul}`;

/** A fraction as a percentage with two decimals: 0.2654 → "26.54 %". */
export const percent = (x: number): string => `${(x * 100).toFixed(2)} %`;
