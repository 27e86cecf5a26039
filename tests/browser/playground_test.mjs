// The playground page end to end in a real browser: the real server (the
// shipped config, its pinned models) on loopback, Debian's chromium driven
// headless by playwright-core. A real long document (two licence texts
// Debian ships, ~11k tokens) is uploaded, a question asked; then the page
// must show the top passage's exact text highlighted in the document, one
// heatmap cell per sentence of the server's explanation, per-view score
// bars, and work from the keyboard. Saves a screenshot (the README's).
//   node playground_test.mjs --server BIN --config FILE --chromium BIN --out DIR
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, value, i, all) => {
    if (value.startsWith('--')) pairs.push([value.slice(2), all[i + 1]]);
    return pairs;
  }, []));
const QUESTION =
  'How long must a written offer to provide the Corresponding Source stay valid?';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attnr_browser_'));
fs.mkdirSync(args.out, { recursive: true });

const documentPath = path.join(tmp, 'licenses.txt');
fs.writeFileSync(documentPath,
  fs.readFileSync('/usr/share/common-licenses/GPL-3', 'utf8') +
  fs.readFileSync('/usr/share/common-licenses/Apache-2.0', 'utf8'));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function startServer() {
  const log = fs.openSync(path.join(args.out, 'server.log'), 'w');
  const portFile = path.join(tmp, 'http_port');
  const server = spawn(args.server, [
    '--config', args.config, '--listen', '127.0.0.1:0',
    '--port_file', path.join(tmp, 'port'),
    '--http_listen', '127.0.0.1:0', '--http_port_file', portFile,
  ], { stdio: ['ignore', log, log] });
  const deadline = Date.now() + 300000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`server exited ${server.exitCode}`);
    if (fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()) {
      const base = `http://127.0.0.1:${fs.readFileSync(portFile, 'utf8').trim()}`;
      try {
        if ((await fetch(`${base}/health`)).status === 200) return { server, base };
      } catch { /* not listening yet */ }
    }
    await sleep(200);
  }
  throw new Error('the server did not become healthy in 300 s');
}

const { server, base } = await startServer();
let browser;
try {
  browser = await chromium.launch({
    executablePath: args.chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu',
      '--disable-background-networking'],
  });
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const external = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(base)) external.push(r.url());
  });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));

  await page.goto(`${base}/`);
  await page.waitForSelector('#views input[type=checkbox]');
  await page.setInputFiles('#upload', documentPath);
  await page.waitForFunction(() => document.querySelector('textarea').value.length > 40000);
  await page.fill('#query', QUESTION);
  const answered = page.waitForResponse((r) => r.url().endsWith('/v1/retrieve'),
    { timeout: 240000 });
  await page.press('#query', 'Enter');  // Submits the form, from the keyboard.
  const response = await answered;
  assert.equal(response.status(), 200, await response.text());
  const json = await response.json();
  await page.waitForSelector('#ranked li');

  // The document as uploaded is what the page shows.
  const text = fs.readFileSync(documentPath, 'utf8');
  assert.equal(await page.locator('#document').textContent(), text);

  // The top range highlighted in place is exactly the top passage's text,
  // which is the document sliced by the passage's code point range.
  const top = json.passages[0];
  const topMarks = await page.locator(`#document mark[data-rank="${top.rank}"]`).allTextContents();
  assert.ok(topMarks.length > 0, 'the top passage is not highlighted');
  assert.equal(topMarks.join(''), top.text);
  assert.equal([...text].slice(top.range.start_char, top.range.end_char).join(''), top.text);
  // ...and scrolled into view.
  const box = await page.locator('#document').boundingBox();
  const mark = await page.locator(`#document mark[data-rank="${top.rank}"]`).first().boundingBox();
  assert.ok(mark.y >= box.y - 1 && mark.y < box.y + box.height,
    `the top range is not in view (${mark.y} vs ${box.y}..${box.y + box.height})`);
  // The top passage for this question: the written offer's clause.
  assert.match(json.passages.slice(0, 3).map((p) => p.text).join('\n'),
    /written offer/);

  // Every returned range is highlighted.
  for (const p of json.passages) {
    assert.ok(await page.locator(`#document mark[data-rank="${p.rank}"]`).count() > 0
      || json.passages.some((q) => q.rank < p.rank &&
        q.range.start_char <= p.range.start_char && p.range.end_char <= q.range.end_char),
    `passage #${p.rank} is not highlighted`);
  }

  // The heatmap: one cell per sentence of the server's explanation, the
  // sentences the LLM read coloured.
  const explanation = json.explanations[0];
  assert.ok(explanation.sentences.length > 100, 'a long document has many sentences');
  assert.equal(await page.locator('#heat .cell').count(), explanation.sentences.length);
  const read = explanation.sentences.filter((s) => typeof s.attention === 'number');
  assert.ok(read.length > 0, 'the LLM read no sentence');
  const coloured = await page.locator('#heat .cell[style*="background"]').count();
  assert.equal(coloured, read.filter((s) => s.attention > 0).length);

  // Per-view score bars, one per fused view.
  const firstBars = await page.locator('#ranked li').first().locator('.bar').count();
  assert.equal(firstBars, top.breakdown.view_scores.length);
  assert.ok(top.breakdown.view_scores.some((v) => v.view === 'SCORING_VIEW_LLM'));

  // Keyboard: Tab to the second passage, Enter shows it in the document.
  if (json.passages.length > 1) {
    await page.focus('#ranked li[data-rank="1"]');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    const second = json.passages[1].rank;
    assert.ok(await page.locator(`#document mark.active[data-rank="${second}"]`).count() > 0
      || await page.locator(`#ranked li.active[data-rank="${second}"]`).count() > 0);
  }

  // Entity links: one curve per scope passage that follows a query match.
  const scoped = json.passages.filter((p, i) => p.origin === 'ENTITY_SCOPE' &&
    json.passages.slice(0, i).some((q) => q.origin !== 'ENTITY_SCOPE'));
  assert.equal(await page.locator('#links path.entity-link').count(), scoped.length);

  assert.deepEqual(external, [], 'the page fetched something not from the server');
  assert.deepEqual(pageErrors, []);

  // Back to the top passage for the picture (the README's).
  await page.click('#ranked li[data-rank="1"]');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(args.out, 'playground.png') });

  // A second document whose answer shares no word with the question: it is
  // reached through the entity the matching sentence names (the retrieval
  // scope), and the page draws that link.
  let bridge = '';
  const filler = (n) => {
    for (let i = 0; i < n; i += 1) {
      bridge += 'The weather report listed rain and wind for the coast, with calmer seas later. ';
      if (i % 4 === 3) bridge += '\n\n';
    }
  };
  filler(24);
  bridge += 'Quenornska Thethe worked closely with Mundlin Garvikan on the Turskane project.\n\n';
  filler(24);
  bridge += 'Mundlin Garvikan grew up in Skaith Falls.\n\n';
  filler(24);
  await page.click('#add-doc');
  await page.fill('#doc-list .doc:nth-child(2) textarea', bridge);
  await page.fill('#doc-list .doc:nth-child(2) input', 'bridge.txt');
  await page.fill('#query', 'Where did the colleague of Quenornska Thethe spend childhood?');
  const second = page.waitForResponse((r) => r.url().endsWith('/v1/retrieve'),
    { timeout: 240000 });
  await page.click('#run');
  const scopeJson = await (await second).json();
  await page.waitForFunction(() => document.querySelector('#status').textContent.includes('passages'));
  assert.equal(scopeJson.explanations.length, 2, 'one explanation per document');
  const reached = scopeJson.passages.find((p) => p.origin === 'ENTITY_SCOPE');
  assert.ok(reached, `no scope passage: ${JSON.stringify(scopeJson.passages.map((p) => p.origin))}`);
  assert.equal(reached.document_index, 1);
  assert.match(reached.text, /Skaith Falls/);
  assert.deepEqual(reached.entities, ['Mundlin Garvikan']);
  // The document shown is the top passage's; the reached range is marked
  // as scope, and a link joins it to the match it came from.
  assert.equal(await page.locator('#doc-choice').inputValue(),
    String(scopeJson.passages[0].document_index));
  await page.click(`#ranked li[data-rank="${reached.rank}"]`);
  assert.equal((await page.locator(`#document mark.scope[data-rank="${reached.rank}"]`)
    .allTextContents()).join(''), reached.text);
  const links = page.locator('#links path.entity-link');
  assert.ok(await links.count() >= 1, 'no entity link drawn');
  assert.match(await links.first().locator('title').textContent(), /Mundlin Garvikan/);
  await page.screenshot({ path: path.join(args.out, 'playground-scope.png') });

  console.log(`browser test passed: ${json.passages.length} passages, ` +
    `${explanation.sentences.length} sentences (${read.length} read by the LLM), ` +
    `${scoped.length} entity links on the licences; the bridge reached through ` +
    `${reached.entities.join(', ')}; screenshots in ${args.out}`);
} finally {
  if (browser) await browser.close();
  server.kill('SIGTERM');
}
