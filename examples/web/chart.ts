// The page's loss chart: a linear axis from just below the lowest loss to the untrained loss, with its
// ticks drawn and labelled, so that one spike later in a run (10.4 at step 66 of the default run, on a
// curve that falls from 5.5 to 1.5) is clipped and marked at the top instead of flattening the curve.

export interface LossAxis {
  /** The loss at the top and at the bottom of the chart. */
  top: number;
  bottom: number;
  /** Losses to label on the axis: round values between bottom and top. */
  ticks: number[];
  /** Steps (0-based) whose loss is above the top: drawn at the top edge, marked. */
  clipped: { step: number; loss: number }[];
}

/** The k-th smallest of xs at fraction q (nearest rank). */
function quantile(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** 1, 2 or 5 times a power of ten: the tick spacing that gives about `count` ticks over `range`. */
function niceStep(range: number, count: number): number {
  const raw = range / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/**
 * The y-axis for these losses: the top is the highest of the first five losses (the untrained model's)
 * or the 98th percentile, whichever is higher (a run that diverges for good keeps its curve in view);
 * the losses above it are listed as clipped.
 */
export function lossAxis(losses: readonly number[]): LossAxis {
  const finite = losses.filter(Number.isFinite);
  if (finite.length === 0) return { top: 1, bottom: 0, ticks: [0, 0.5, 1], clipped: [] };
  const start = Math.max(...losses.slice(0, 5).filter(Number.isFinite), -Infinity);
  let top = Math.max(start, quantile(finite, 0.98));
  let bottom = Math.min(...finite);
  if (!(top > bottom)) [bottom, top] = [bottom - 0.5, top + 0.5];
  const step = niceStep(top - bottom, 5);
  bottom = Math.floor(bottom / step) * step;
  const ticks: number[] = [];
  for (let t = bottom; t <= top + step * 1e-9; t += step) ticks.push(Number(t.toFixed(10)));
  const clipped = losses.flatMap((loss, step) => (loss > top || loss !== loss ? [{ step, loss }] : []));
  return { top, bottom, ticks, clipped };
}

/** Draws the losses on the canvas: axes with labelled ticks, the curve, clipped steps marked at the top. */
export function drawLossChart(canvas: HTMLCanvasElement, losses: readonly number[]): void {
  const g = canvas.getContext('2d')!;
  const { width: W, height: H } = canvas;
  const [left, right, top, bottom] = [44, 12, 12, 22]; // margins
  g.clearRect(0, 0, W, H);
  g.font = '11px system-ui, sans-serif';
  if (losses.length < 2) return;
  const axis = lossAxis(losses);
  const x = (i: number) => left + (i / (losses.length - 1)) * (W - left - right);
  const y = (l: number) =>
    top + (1 - (Math.min(l, axis.top) - axis.bottom) / (axis.top - axis.bottom)) * (H - top - bottom);
  // axes and ticks
  g.strokeStyle = '#ccc';
  g.fillStyle = '#444';
  g.lineWidth = 1;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (const t of axis.ticks) {
    g.beginPath();
    g.moveTo(left, y(t));
    g.lineTo(W - right, y(t));
    g.stroke();
    g.fillText(String(t), left - 4, y(t));
  }
  g.save();
  g.translate(10, top + (H - top - bottom) / 2);
  g.rotate(-Math.PI / 2);
  g.textAlign = 'center';
  g.fillText('loss', 0, 0);
  g.restore();
  g.textBaseline = 'top';
  const last = losses.length - 1;
  const labels = [
    [0, 'left'],
    [Math.round(last / 2), 'center'],
    [last, 'right'],
  ] as const;
  for (const [i, align] of labels) {
    g.textAlign = align;
    g.fillText(`step ${i + 1}`, x(i), H - bottom + 6);
  }
  // the curve
  g.strokeStyle = '#1f77b4';
  g.lineWidth = 1.5;
  g.beginPath();
  losses.forEach((l, i) => (i ? g.lineTo(x(i), y(l)) : g.moveTo(x(i), y(l))));
  g.stroke();
  // clipped steps: a red mark at the top edge, the highest one labelled with its value
  g.fillStyle = '#d62728';
  for (const c of axis.clipped) g.fillRect(x(c.step) - 1.5, top - 4, 3, 6);
  if (axis.clipped.length > 0) {
    const worst = axis.clipped.reduce((a, b) => (b.loss > a.loss || b.loss !== b.loss ? b : a));
    g.textAlign = x(worst.step) > W / 2 ? 'right' : 'left';
    g.textBaseline = 'top';
    g.fillText(`${worst.loss.toFixed(1)} at step ${worst.step + 1} (off the chart)`, x(worst.step) + 4, top + 3);
  }
}
