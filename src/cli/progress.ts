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
