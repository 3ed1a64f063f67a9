/** Line charts as hand-written SVG: axes, ticks, one polyline per series, a legend. */

export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  logY?: boolean;
  /** Lower bound of the y axis; the data's minimum when absent. */
  yMin?: number;
}

const WIDTH = 640;
const HEIGHT = 380;
const MARGIN = { left: 70, right: 20, top: 40, bottom: 80 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceTicks(min: number, max: number, count: number): number[] {
  const span = max - min || 1;
  const step = 10 ** Math.floor(Math.log10(span / count));
  const factor = [1, 2, 5, 10].find((f) => span / (f * step) <= count) ?? 10;
  const size = factor * step;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / size) * size; t <= max + size * 1e-9; t += size)
    ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function label(value: number): string {
  if (Math.abs(value) >= 1000) return value.toFixed(0);
  return Number(value.toPrecision(3)).toString();
}

export function lineChart(spec: ChartSpec): string {
  const points = spec.series
    .flatMap((s) => s.points)
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const scaleY = (y: number) => (spec.logY ? Math.log10(y) : y);
  const yLow = scaleY(spec.yMin ?? Math.min(...ys));
  const yHigh = scaleY(Math.max(...ys));
  const pad = (yHigh - yLow) * 0.05 || 1;
  const y0 = spec.yMin === undefined ? yLow - pad : yLow;
  const y1 = yHigh + pad;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin || 1)) * plotW;
  const py = (y: number) => MARGIN.top + (1 - (scaleY(y) - y0) / (y1 - y0)) * plotH;

  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(spec.title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(spec.title)}</text>`,
  ];
  const yTicks = spec.logY
    ? niceTicks(y0, y1, 6)
        .filter((t) => Number.isInteger(t))
        .map((t) => 10 ** t)
    : niceTicks(y0, y1, 6);
  for (const t of yTicks) {
    const y = py(t);
    parts.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${y + 4}" text-anchor="end">${label(t)}</text>`);
  }
  for (const t of niceTicks(xMin, xMax, 8)) {
    const x = px(t);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 5}" stroke="#333"/>`,
    );
    parts.push(`<text x="${x}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${label(t)}</text>`);
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH + 36}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`,
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}${spec.logY ? ' (log scale)' : ''}</text>`,
  );
  spec.series.forEach((series, index) => {
    const color = COLORS[index % COLORS.length];
    const valid = series.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const path = valid.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    if (valid.length <= 12) {
      for (const [x, y] of valid) parts.push(`<circle cx="${px(x)}" cy="${py(y)}" r="3" fill="${color}"/>`);
    }
    const lx = MARGIN.left + (index % 3) * 200;
    const ly = HEIGHT - 22 + Math.floor(index / 3) * 16 - 8;
    parts.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="3"/>`,
    );
    parts.push(`<text x="${lx + 24}" y="${ly}">${escapeXml(series.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
