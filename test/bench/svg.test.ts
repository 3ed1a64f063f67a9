import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineChart } from '../../bench/svg.js';

test('a line chart has one polyline per series, coordinates inside the picture and escaped labels', () => {
  const svg = lineChart({
    title: 'time <per> impression',
    xLabel: 'behaviors',
    yLabel: 'ms',
    logY: true,
    series: [
      {
        name: 'BAHE',
        points: [
          [10, 5],
          [50, 9],
        ],
      },
      {
        name: 'token & co',
        points: [
          [10, 60],
          [30, Number.NaN],
          [50, 300],
        ],
      },
    ],
  });
  assert.match(svg, /^<svg [^>]*width="640" height="380"/);
  assert.equal(svg.match(/<polyline /g)?.length, 2);
  assert.match(svg, /time &lt;per&gt; impression/);
  assert.match(svg, /token &amp; co/);
  for (const [, x, y] of svg.matchAll(/<circle cx="([^"]+)" cy="([^"]+)"/g)) {
    assert.ok(
      Number(x) >= 0 && Number(x) <= 640 && Number(y) >= 0 && Number(y) <= 380,
      `${x},${y} is outside`,
    );
  }
  // The NaN point is left out, not drawn at a made-up place.
  assert.equal(svg.match(/<circle /g)?.length, 4);
  assert.match(svg, /\(log scale\)/);
});
