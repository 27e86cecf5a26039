// The attnr playground: documents and a question in, the ranked passages,
// their exact ranges highlighted in the document, per-view scores, the
// entity links of scope passages and the attention heatmap out. Talks to
// the HTTP gateway it is served by (/v1/model_info, /v1/retrieve); no
// external scripts or fonts. Document text is only ever inserted as text
// nodes, never as HTML.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const VIEW_NAMES = {
    SCORING_VIEW_LEXICAL: 'lexical', SCORING_VIEW_DENSE: 'dense',
    SCORING_VIEW_ENTITY: 'entity', SCORING_VIEW_LLM: 'llm',
  };
  const VIEW_LABELS = {
    lexical: 'BM25', dense: 'dense', entity: 'entity', llm: 'LLM attention',
  };
  const state = { response: null, docs: [], shown: 0, served: [], defaults: [] };

  // ---- documents -------------------------------------------------------
  let docCount = 0;
  function addDocument(id, text) {
    docCount += 1;
    const box = document.createElement('div');
    box.className = 'doc';
    const area = document.createElement('textarea');
    area.setAttribute('aria-label', `Document ${docCount} text`);
    area.placeholder = 'Paste a long document here';
    area.value = text || '';
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = 'Remove';
    remove.setAttribute('aria-label', `Remove document ${docCount}`);
    remove.addEventListener('click', () => {
      if ($('doc-list').children.length > 1) box.remove();
    });
    const meta = document.createElement('div');
    meta.className = 'meta';
    const idInput = document.createElement('input');
    idInput.value = id || `doc-${docCount}`;
    idInput.setAttribute('aria-label', `Document ${docCount} id`);
    const count = document.createElement('span');
    const recount = () => {
      count.textContent = `${[...area.value].length.toLocaleString()} characters`;
    };
    area.addEventListener('input', recount);
    recount();
    meta.append('id', idInput, count);
    box.append(area, remove, meta);
    $('doc-list').append(box);
    return area;
  }

  function readDocuments() {
    return [...$('doc-list').querySelectorAll('.doc')]
      .map((box) => ({
        id: box.querySelector('input').value,
        text: box.querySelector('textarea').value,
      }))
      .filter((d) => d.text.length > 0);
  }

  $('add-doc').addEventListener('click', () => addDocument().focus());
  $('upload').addEventListener('change', async (event) => {
    const files = [...event.target.files];
    for (const file of files) {
      const text = await file.text();
      const empty = [...$('doc-list').querySelectorAll('textarea')]
        .find((a) => a.value === '');
      if (empty) {
        empty.value = text;
        empty.dispatchEvent(new Event('input'));
        empty.closest('.doc').querySelector('input').value = file.name;
      } else {
        addDocument(file.name, text);
      }
    }
    event.target.value = '';
  });

  // ---- model info ----------------------------------------------------------
  async function loadModel() {
    try {
      const res = await fetch('/v1/model_info');
      const info = await res.json();
      if (!res.ok) throw new Error(info.error ? info.error.message : res.status);
      state.served = (info.views || []).map((v) => VIEW_NAMES[v] || v);
      state.defaults = (info.default_views || []).map((v) => VIEW_NAMES[v] || v);
      $('model').textContent = `${info.name}/${info.version} · views ` +
        state.served.map((v) => VIEW_LABELS[v] || v).join(', ');
      const box = $('views');
      box.replaceChildren();
      for (const v of state.served) {
        const label = document.createElement('label');
        const check = document.createElement('input');
        check.type = 'checkbox';
        check.value = v;
        check.checked = state.defaults.includes(v);
        label.append(check, ` ${VIEW_LABELS[v] || v}`);
        box.append(label);
      }
      const heat = $('heatmap');
      if (!state.served.includes('llm')) {
        heat.checked = false;
        heat.disabled = true;
        heat.parentElement.title = 'the server has no LLM attention view';
      }
      if (info.limits) {
        $('top-k').max = info.limits.max_top_k || 100;
        $('passage-tokens').max = info.limits.max_passage_tokens || 512;
      }
    } catch (err) {
      $('model').textContent = `Cannot read /v1/model_info: ${err.message}`;
    }
  }

  // ---- retrieve ------------------------------------------------------------
  function chosenViews() {
    const views = [...$('views').querySelectorAll('input:checked')].map((c) => c.value);
    // The heatmap is the LLM attention view's: it joins the views.
    if ($('heatmap').checked && !views.includes('llm')) views.push('llm');
    return views;
  }

  $('ask').addEventListener('submit', async (event) => {
    event.preventDefault();
    const docs = readDocuments();
    const status = $('status');
    status.className = '';
    if (docs.length === 0) {
      status.textContent = 'Paste or upload a document first.';
      status.className = 'error';
      return;
    }
    const body = {
      query: $('query').value,
      documents: docs,
      options: {
        top_k: Number($('top-k').value),
        max_passage_tokens: Number($('passage-tokens').value),
        views: chosenViews(),
        entity_scope: $('scope').checked,
        explain_level: $('heatmap').checked ? 'EXPLAIN_SENTENCES' : 'EXPLAIN_SCORES',
      },
    };
    status.textContent = 'Retrieving…';
    $('run').disabled = true;
    const started = performance.now();
    try {
      const res = await fetch('/v1/retrieve', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = await res.json();
      if (!res.ok) {
        throw new Error(json.error ? `${json.error.code}: ${json.error.message}` : res.status);
      }
      state.response = json;
      state.docs = docs;
      const passages = json.passages || [];
      state.shown = passages.length ? passages[0].document_index || 0 : 0;
      render();
      const usage = json.usage || {};
      const total = usage.timings ? usage.timings.total_ms : undefined;
      status.textContent = `${passages.length} passages · ` +
        `${(usage.document_tokens || 0).toLocaleString()} document tokens · server ` +
        `${total === undefined ? '?' : Math.round(total)} ms, page ` +
        `${Math.round(performance.now() - started)} ms` +
        (usage.unjudged_passages ? ` · ${usage.unjudged_passages} passages left unjudged by the budget` : '');
    } catch (err) {
      status.textContent = err.message;
      status.className = 'error';
    } finally {
      $('run').disabled = false;
    }
  });

  // ---- rendering -----------------------------------------------------------
  // Code point offsets (the API's *_char) to UTF-16 offsets (JavaScript's).
  function utf16Offsets(text) {
    const at = [0];
    let u = 0;
    for (const ch of text) {
      u += ch.length;
      at.push(u);
    }
    return at;
  }

  function viewScores(p) {
    const out = {};
    for (const vs of (p.breakdown && p.breakdown.view_scores) || []) {
      out[VIEW_NAMES[vs.view] || vs.view] = vs;
    }
    return out;
  }

  function render() {
    const json = state.response;
    const passages = json.passages || [];
    $('results').hidden = false;
    const choice = $('doc-choice');
    choice.replaceChildren();
    state.docs.forEach((d, i) => {
      const option = document.createElement('option');
      option.value = i;
      option.textContent = d.id;
      choice.append(option);
    });
    choice.value = state.shown;
    renderRanked(passages);
    renderDocument();
  }

  function renderRanked(passages) {
    const list = $('ranked');
    list.replaceChildren();
    // Scale each view's bar by its best score in this answer.
    const best = {};
    for (const p of passages) {
      for (const [v, s] of Object.entries(viewScores(p))) {
        best[v] = Math.max(best[v] || 0, s.score || 0);
      }
    }
    for (const p of passages) {
      const li = document.createElement('li');
      li.tabIndex = 0;
      li.dataset.rank = p.rank;
      const scope = p.origin === 'ENTITY_SCOPE';
      if (scope) li.classList.add('scope');
      const head = document.createElement('div');
      head.className = 'head';
      const rank = document.createElement('span');
      rank.className = 'rank';
      rank.textContent = `#${p.rank}`;
      const r = p.range || {};
      head.append(rank);
      for (const part of [`score ${Number(p.score || 0).toFixed(4)}`,
        `${p.document_id || state.docs[p.document_index || 0].id}`,
        `chars ${r.start_char || 0}–${r.end_char || 0}`,
        scope ? 'via entities' : 'query match']) {
        const item = document.createElement('span');
        item.textContent = part;
        head.append(item);
      }
      const snippet = document.createElement('div');
      snippet.className = 'snippet';
      snippet.textContent = p.text || '';
      const bars = document.createElement('div');
      bars.className = 'bars';
      const reasons = [];
      for (const [v, s] of Object.entries(viewScores(p))) {
        const name = document.createElement('span');
        name.textContent = VIEW_LABELS[v] || v;
        const bar = document.createElement('div');
        bar.className = `bar ${v}`;
        bar.setAttribute('role', 'img');
        const share = best[v] > 0 ? (s.score || 0) / best[v] : 0;
        bar.setAttribute('aria-label', `${VIEW_LABELS[v] || v} ${Number(s.score || 0).toFixed(3)}`);
        const fill = document.createElement('span');
        fill.style.width = `${Math.round(100 * share)}%`;
        bar.append(fill);
        const value = document.createElement('span');
        value.textContent = Number(s.score || 0).toFixed(3);
        bars.append(name, bar, value);
        if (s.reasons && s.reasons.length) reasons.push(`${VIEW_LABELS[v] || v}: ${s.reasons.join(', ')}`);
      }
      li.append(head, snippet, bars);
      if (reasons.length) {
        const why = document.createElement('div');
        why.className = 'reasons';
        why.textContent = reasons.join(' · ');
        li.append(why);
      }
      if (p.entities && p.entities.length) {
        const ents = document.createElement('div');
        ents.className = 'entities';
        ents.textContent = `${scope ? 'linked by' : 'entities'}: ${p.entities.join(', ')}`;
        li.append(ents);
      }
      const open = () => focusPassage(p);
      li.addEventListener('click', open);
      li.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          open();
        }
      });
      list.append(li);
    }
    drawLinks(passages);
  }

  // A scope passage comes right after the query match it was reached from:
  // a curve in the gutter joins the two, labelled with the linking entities.
  function drawLinks(passages) {
    const svg = $('links');
    svg.replaceChildren();
    const items = [...$('ranked').children];
    const wrap = $('ranked-wrap').getBoundingClientRect();
    let from = -1;
    passages.forEach((p, i) => {
      if (p.origin !== 'ENTITY_SCOPE') {
        from = i;
        return;
      }
      if (from < 0) return;
      const a = items[from].getBoundingClientRect();
      const b = items[i].getBoundingClientRect();
      const y1 = a.top - wrap.top + a.height / 2;
      const y2 = b.top - wrap.top + b.height / 2;
      const ns = 'http://www.w3.org/2000/svg';
      const path = document.createElementNS(ns, 'path');
      path.setAttribute('d', `M 36 ${y1} C 4 ${y1}, 4 ${y2}, 36 ${y2}`);
      path.setAttribute('fill', 'none');
      path.setAttribute('stroke', '#2e8b57');
      path.setAttribute('stroke-width', '2');
      path.setAttribute('class', 'entity-link');
      path.dataset.from = passages[from].rank;
      path.dataset.to = p.rank;
      const title = document.createElementNS(ns, 'title');
      title.textContent = `#${passages[from].rank} → #${p.rank}: ${(p.entities || []).join(', ')}`;
      path.append(title);
      svg.append(path);
    });
  }

  function renderDocument() {
    const json = state.response;
    const index = Number(state.shown);
    const text = state.docs[index].text;
    const at = utf16Offsets(text);
    const chars = at.length - 1;
    const passages = (json.passages || []).filter((p) => (p.document_index || 0) === index);
    const explanation = (json.explanations || []).find((e) => (e.document_index || 0) === index);
    const sentences = explanation ? explanation.sentences || [] : [];
    // Cut the text at every passage and sentence boundary; each piece is
    // marked with the best-ranked passage covering it, inside its sentence.
    const cuts = new Set([0, chars]);
    for (const p of passages) {
      cuts.add(p.range.start_char || 0);
      cuts.add(p.range.end_char || 0);
    }
    sentences.forEach((s) => {
      cuts.add(s.range.start_char || 0);
      cuts.add(s.range.end_char || 0);
    });
    const points = [...cuts].filter((c) => c >= 0 && c <= chars).sort((a, b) => a - b);
    const container = $('document');
    container.replaceChildren();
    let si = 0;
    for (let k = 0; k + 1 < points.length; k += 1) {
      const begin = points[k];
      const end = points[k + 1];
      const piece = document.createTextNode(text.slice(at[begin], at[end]));
      let cover = null;
      for (const p of passages) {
        if ((p.range.start_char || 0) <= begin && end <= (p.range.end_char || 0) &&
            (cover === null || p.rank < cover.rank)) cover = p;
      }
      let node = piece;
      if (cover) {
        const mark = document.createElement('mark');
        mark.dataset.rank = cover.rank;
        mark.title = `#${cover.rank} · score ${Number(cover.score || 0).toFixed(4)}` +
          (cover.origin === 'ENTITY_SCOPE' ? ` · via ${(cover.entities || []).join(', ')}` : '');
        if (cover.rank === 1) mark.classList.add('top');
        if (cover.origin === 'ENTITY_SCOPE') mark.classList.add('scope');
        mark.append(piece);
        node = mark;
      }
      while (si < sentences.length && (sentences[si].range.end_char || 0) <= begin) si += 1;
      if (si < sentences.length && (sentences[si].range.start_char || 0) <= begin &&
          end <= (sentences[si].range.end_char || 0)) {
        const span = document.createElement('span');
        span.dataset.s = si;
        span.append(node);
        node = span;
      }
      container.append(node);
    }
    renderHeat(explanation, sentences);
    const first = passages.length ?
      container.querySelector(`mark[data-rank="${passages[0].rank}"]`) : null;
    if (first) scrollWithin(container, first);
  }

  // Scrolls `box` (not the page) so that `node` is in its middle.
  function scrollWithin(box, node) {
    const top = node.getBoundingClientRect().top - box.getBoundingClientRect().top;
    box.scrollTop += top - box.clientHeight / 2 + 20;
  }

  function renderHeat(explanation, sentences) {
    const heat = $('heat');
    heat.replaceChildren();
    const note = $('heat-note');
    $('heatmap-box').hidden = !explanation;
    if (!explanation) return;
    let max = 0;
    for (const s of sentences) {
      if (typeof s.attention === 'number') max = Math.max(max, s.attention);
    }
    const read = sentences.filter((s) => typeof s.attention === 'number').length;
    note.textContent = explanation.note ||
      `(${sentences.length.toLocaleString()} sentences, ${read.toLocaleString()} read by the LLM)`;
    sentences.forEach((s, i) => {
      const cell = document.createElement('button');
      cell.type = 'button';
      cell.className = 'cell';
      cell.dataset.s = i;
      const has = typeof s.attention === 'number';
      if (has && max > 0) {
        const t = Math.sqrt(s.attention / max);
        const r = Math.round(255 - t * 51);
        const g = Math.round(236 - t * 176);
        const b = Math.round(214 - t * 214);
        cell.style.background = `rgb(${r}, ${g}, ${b})`;
      }
      const label = has ? `sentence ${i + 1}: attention ${s.attention.toPrecision(3)}` :
        `sentence ${i + 1}: not read`;
      cell.title = label;
      cell.setAttribute('aria-label', label);
      cell.addEventListener('click', () => {
        const span = $('document').querySelector(`span[data-s="${i}"]`);
        if (!span) return;
        scrollWithin($('document'), span);
        span.classList.add('sentence-flash');
        setTimeout(() => span.classList.remove('sentence-flash'), 1200);
      });
      heat.append(cell);
    });
  }

  function focusPassage(p) {
    if ((p.document_index || 0) !== Number(state.shown)) {
      state.shown = p.document_index || 0;
      $('doc-choice').value = state.shown;
      renderDocument();
    }
    for (const m of document.querySelectorAll('mark.active, #ranked li.active')) {
      m.classList.remove('active');
    }
    const marks = $('document').querySelectorAll(`mark[data-rank="${p.rank}"]`);
    marks.forEach((m) => m.classList.add('active'));
    if (marks.length) scrollWithin($('document'), marks[0]);
    const li = $('ranked').querySelector(`li[data-rank="${p.rank}"]`);
    if (li) li.classList.add('active');
  }

  $('doc-choice').addEventListener('change', (e) => {
    state.shown = Number(e.target.value);
    renderDocument();
  });
  window.addEventListener('resize', () => {
    if (state.response) drawLinks(state.response.passages || []);
  });

  addDocument();
  loadModel();
})();
