/** A one-line progress bar for a terminal (plain lines when not a TTY, so logs stay readable). */
export class Progress {
  private readonly start = Date.now();
  private lastPlain = 0;
  private before?: number;

  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  update(step: number, fields: Record<string, string>): void {
    const done = Math.min(step, this.total);
    // a resumed run's first update is not its first step: the rate counts the steps taken here
    this.before ??= Math.max(0, done - 1);
    const elapsed = (Date.now() - this.start) / 1000;
    const eta = done > this.before ? (elapsed / (done - this.before)) * (this.total - done) : NaN;
    const info = Object.entries(fields)
      .map(([k, v]) => `${k} ${v}`)
      .join('  ');
    const tail = `${done}/${this.total}  ${info}  ETA ${formatSeconds(eta)}`;
    if (this.out.isTTY) {
      const width = 24;
      const filled = Math.round((done / this.total) * width);
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${tail}\x1b[K`);
    } else if (Date.now() - this.lastPlain > 5000 || done === this.total) {
      this.lastPlain = Date.now();
      this.out.write(`step ${tail}\n`);
    }
  }

  /** A line of its own (an evaluation result) above the bar. */
  note(text: string): void {
    this.out.write(this.out.isTTY ? `\r${text}\x1b[K\n` : `${text}\n`);
  }

  finish(): void {
    if (this.out.isTTY) this.out.write('\n');
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const total = Math.round(s);
  const m = Math.floor(total / 60);
  const sec = total % 60;
  return `${m}:${String(sec).padStart(2, '0')}`;
}

/**
 * A byte progress bar for downloads and loads (`loadModel`'s onProgress): one bar per file, the size in
 * MB, the rate and the time left; plain lines every 5 s when not a TTY.
 */
export class ByteProgress {
  private file = '';
  private start = 0;
  private lastPlain = 0;
  private ended = true;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  /** The callback to hand loadModel: `loadModel(engine, from, { onProgress: bar.update })`. */
  readonly update = (p: { phase: 'download' | 'load'; file: string; loaded: number; total: number | undefined }) => {
    const label = p.phase === 'download' ? `downloading ${p.file}` : 'loading weights';
    if (label !== this.file) {
      this.finish();
      this.file = label;
      this.start = Date.now();
      this.lastPlain = this.start; // plain lines: every 5 s, and when the file is done
      this.ended = false;
    }
    if (this.ended) return;
    const elapsed = (Date.now() - this.start) / 1000;
    const rate = elapsed > 0 ? p.loaded / elapsed : 0;
    const done = p.total !== undefined && p.loaded >= p.total;
    const size = p.total === undefined ? mb(p.loaded) : `${mb(p.loaded)}/${mb(p.total)}`;
    const eta = p.total !== undefined && rate > 0 ? formatSeconds((p.total - p.loaded) / rate) : '--:--';
    const tail = `${label}  ${size} MB  ${mb(rate)} MB/s  ETA ${eta}`;
    if (this.out.isTTY) {
      const width = 24;
      const filled = p.total ? Math.round((Math.min(p.loaded, p.total) / p.total) * width) : 0;
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${tail}\x1b[K`);
    } else if (Date.now() - this.lastPlain > 5000 || (done && p.phase === 'download')) {
      // not a terminal: a line every 5 s, and one per finished download (a quick local load prints nothing)
      this.lastPlain = Date.now();
      this.out.write(`${tail}\n`);
    }
    if (done) this.finish();
  };

  /** Ends the current bar (a new line under it on a TTY). */
  finish(): void {
    if (!this.ended && this.out.isTTY) this.out.write('\n');
    this.ended = true;
  }
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
