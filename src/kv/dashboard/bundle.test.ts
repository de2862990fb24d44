// The committed dashboard bundle (static/) is what the sources (ui/) build to: a change to
// the page without `npm run build:dashboard` fails here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildDashboard, staleFiles } from '../../../scripts/build-dashboard.ts';

test('static/ is fresh: npm run build:dashboard leaves it unchanged', async () => {
  const built = await buildDashboard();
  assert.deepEqual([...built.keys()].sort(), ['app.css', 'app.js', 'index.html']);
  const stale = await staleFiles(built);
  assert.deepEqual(stale, [], `stale: ${stale.join(', ')}; run npm run build:dashboard`);
});

test('the bundle needs no network: no URL is loaded from another host', async () => {
  const built = await buildDashboard();
  const html = new TextDecoder().decode(built.get('index.html'));
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
  const css = new TextDecoder().decode(built.get('app.css'));
  assert.doesNotMatch(css, /url\((["']?)(https?:)?\/\//);
  const js = new TextDecoder().decode(built.get('app.js'));
  assert.doesNotMatch(js, /\bimport\s*\(?\s*["']https?:/);
});
