export interface Series {
  name: string;
  points: [number, number][];
  color: string;
}

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small line chart as an SVG document (loss curves). */
export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const W = 720;
  const H = 420;
  const L = 64;
  const R = 20;
  const T = 40;
  const B = 50;
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xMin = Math.min(...all.map((p) => p[0]), 0);
  const xMax = Math.max(...all.map((p) => p[0]), 1);
  const yMin = Math.min(...all.map((p) => p[1]));
  const yMax = Math.max(...all.map((p) => p[1]));
  const ySpan = yMax - yMin || 1;
  const px = (x: number) => L + ((x - xMin) / (xMax - xMin || 1)) * (W - L - R);
  const py = (y: number) => T + (1 - (y - yMin) / ySpan) * (H - T - B);
  const ticks = 5;
  const grid: string[] = [];
  for (let i = 0; i <= ticks; i++) {
    const y = yMin + (ySpan * i) / ticks;
    const x = xMin + ((xMax - xMin) * i) / ticks;
    grid.push(`<line x1="${L}" x2="${W - R}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#eee"/>`);
    grid.push(
      `<text x="${L - 6}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end" font-size="11">${y.toFixed(2)}</text>`,
    );
    grid.push(
      `<text x="${px(x).toFixed(1)}" y="${H - B + 16}" text-anchor="middle" font-size="11">${Math.round(x)}</text>`,
    );
  }
  const lines = series.map((s, i) => {
    const d = s.points
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
      .map(([x, y], j) => `${j ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`)
      .join('');
    return (
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"/>` +
      `<text x="${W - R - 4}" y="${T + 14 + i * 16}" text-anchor="end" font-size="12" fill="${s.color}">${esc(s.name)}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>
${grid.join('\n')}
<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#444"/><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#444"/>
<text x="${W / 2}" y="${H - 12}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>
<text x="16" y="${H / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${H / 2})">${esc(yLabel)}</text>
${lines.join('\n')}
</svg>
`;
}
