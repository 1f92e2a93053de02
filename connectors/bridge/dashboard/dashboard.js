// pagestream live dashboard: fed by the bridge's SSE stream (/v1/events), its document index
// (/v1/documents), consumer lag (/v1/lag) and, where the ClickHouse sink runs in the bridge,
// SQL (/v1/sql). No build step, no dependencies; everything updates in place.
"use strict";

const $ = (sel) => document.querySelector(sel);
const STAGES = ["INGEST", "OCR", "LAYOUT", "ASSEMBLE", "VALIDATE"];
const WINDOW_S = 10; // pages-per-second window
const HISTORY_S = 120; // sparkline length

const state = {
  docs: new Map(), // doc_id -> status summary from /v1/documents/{id}
  refreshTimers: new Map(),
  pageTimes: [], // arrival times (ms) of pages through layout
  perSecond: new Array(HISTORY_S).fill(0),
  lastSecond: Math.floor(Date.now() / 1000),
  durations: Object.fromEntries(STAGES.map((s) => [s, []])),
  counts: { pages: 0, OK: 0, PARTIAL: 0, FAILED: 0 },
  sql: "unknown", // "unknown" | "yes" | "no"
  selected: null,
};

// With PAGESTREAM_AUTH=on the bridge wants an API key: open the page as /dashboard#key=<key>. The
// key goes into a same-site cookie for /v1, which fetch, EventSource and images all send along
// (EventSource cannot set headers); the address bar drops it at once.
const keyInHash = location.hash.match(/key=([A-Za-z0-9_-]+)/);
if (keyInHash) {
  document.cookie = `pagestream_key=${keyInHash[1]}; path=/v1; SameSite=Strict`;
  history.replaceState(null, "", location.pathname);
}

async function getJSON(url, options) {
  const response = await fetch(url, options);
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) document.title = "pagestream: open /dashboard#key=<API key>";
  if (!response.ok) throw Object.assign(new Error(body.detail || response.statusText), { status: response.status });
  return body;
}

// --- SQL through the bridge (the ClickHouse sink's endpoint) -------------------------------------

async function sql(query) {
  const body = await getJSON("/v1/sql", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
  });
  const names = body.columns.map((c) => c.name);
  return body.rows.map((row) => Object.fromEntries(row.map((v, i) => [names[i], v])));
}

const QUERIES = {
  totals: "SELECT count() AS docs, sum(page_count) AS pages FROM documents FINAL",
  latency: `SELECT stage, quantile(0.5)(duration_ms) AS p50, quantile(0.95)(duration_ms) AS p95, count() AS pages
            FROM stage_events FINAL
            WHERE status = 'PAGE_DONE' AND duration_ms IS NOT NULL AND at > now() - INTERVAL 1 HOUR
            GROUP BY stage`,
  types: `SELECT doc_type, count() AS documents FROM documents FINAL
          WHERE doc_type IS NOT NULL GROUP BY doc_type ORDER BY documents DESC`,
  // As in ops/sql/review_queue.sql: validation says NEEDS_REVIEW or FAILED, or pages have no result.
  review: `SELECT doc_id, argMax(filename, completed_at) AS file, argMax(status, completed_at) AS result,
                  argMax(validation_status, completed_at) AS verdict, argMax(error_code, completed_at) AS code
           FROM documents GROUP BY tenant, doc_id
           HAVING result != 'OK' OR verdict IN ('NEEDS_REVIEW', 'FAILED')
           ORDER BY max(completed_at) DESC LIMIT 20`,
};

async function pollSql() {
  if (state.sql === "no") return;
  try {
    const [totals] = await sql(QUERIES.totals);
    state.sql = "yes";
    $("#sql-totals").hidden = false;
    $("#sql-docs").textContent = totals.docs;
    $("#sql-pages").textContent = totals.pages;
  } catch (err) {
    if (err.status === 404 || err.status === 405) state.sql = "no"; // no sink in this bridge
    return;
  }
  try {
    renderLatencyRows(await sql(QUERIES.latency), "ClickHouse, last hour");
  } catch (err) {
    console.warn("latency query", err);
  }
  try {
    const types = await sql(QUERIES.types);
    fillTable("#doc-types", types.map((t) => [t.doc_type, t.documents]));
    $("#doc-types-empty").hidden = types.length > 0;
  } catch (err) {
    $("#doc-types-empty").textContent = `No document types: ${err.message}`;
  }
  try {
    const review = await sql(QUERIES.review);
    fillTable("#review", review.map((r) => [r.file || r.doc_id, r.verdict || r.result, r.code || ""]));
    $("#review-empty").textContent = "Nothing to review: every document passed validation.";
    $("#review-empty").hidden = review.length > 0;
  } catch (err) {
    $("#review-empty").textContent = `Review queue unavailable: ${err.message}`;
  }
}

// --- tables ---------------------------------------------------------------------------------------

function fillTable(selector, rows) {
  const body = $(`${selector} tbody`);
  body.replaceChildren(
    ...rows.map((cells) => {
      const tr = document.createElement("tr");
      for (const cell of cells) {
        const td = document.createElement("td");
        td.textContent = cell;
        tr.appendChild(td);
      }
      return tr;
    }),
  );
}

function quantile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const ms = (v) => (v == null ? "–" : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);

function renderLatencyRows(rows, source) {
  $("#latency-source").textContent = source;
  const order = (r) => (STAGES.indexOf(r.stage) + 100) % 100;
  rows.sort((a, b) => order(a) - order(b));
  fillTable("#latency", rows.map((r) => [r.stage, ms(r.p50), ms(r.p95), r.pages]));
  $("#latency-empty").hidden = rows.length > 0;
}

function renderLiveLatency() {
  if (state.sql === "yes") return;
  const rows = STAGES.filter((s) => state.durations[s].length).map((stage) => {
    const sorted = [...state.durations[stage]].sort((a, b) => a - b);
    return { stage, p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), pages: sorted.length };
  });
  renderLatencyRows(rows, "live events since page load");
}

function stageText(doc) {
  const total = doc.page_count ?? "?";
  return STAGES.filter((s) => doc.stages && doc.stages[s])
    .map((s) => {
      const stage = doc.stages[s]; // document-level stages (validate) have no pages: show their status
      return `${s.toLowerCase()} ${stage.pages_done ? `${stage.pages_done}/${total}` : stage.status.toLowerCase()}`;
    })
    .join(" · ");
}

function renderLatest() {
  const docs = [...state.docs.values()].sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at)));
  const body = $("#latest tbody");
  body.replaceChildren(
    ...docs.slice(0, 15).map((doc) => {
      const tr = document.createElement("tr");
      tr.dataset.docId = doc.doc_id;
      tr.classList.toggle("selected", doc.doc_id === state.selected);
      const done = doc.status === "OK" || doc.status === "PARTIAL" ? doc.page_count : doc.stages?.LAYOUT?.pages_done ?? 0;
      const cells = [
        doc.filename || doc.doc_id,
        doc.tenant,
        doc.status,
        `${done}/${doc.page_count ?? "?"}`,
        stageText(doc),
        doc.updated_at ? new Date(doc.updated_at).toLocaleTimeString() : "",
      ];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (i === 2) td.className = `status ${doc.status}`;
        tr.appendChild(td);
      });
      tr.addEventListener("click", () => drill(doc.doc_id));
      return tr;
    }),
  );
  $("#latest-empty").hidden = docs.length > 0;
}

function refreshDoc(docId) {
  // Several events of one document in a burst: one status request.
  if (state.refreshTimers.has(docId)) return;
  state.refreshTimers.set(
    docId,
    setTimeout(async () => {
      state.refreshTimers.delete(docId);
      try {
        const doc = await getJSON(`/v1/documents/${encodeURIComponent(docId)}`);
        state.docs.set(docId, doc);
        renderLatest();
        if (state.selected === docId) renderDrillHeader(doc);
      } catch (err) {
        console.warn("status of", docId, err);
      }
    }, 250),
  );
}

// --- live events --------------------------------------------------------------------------------

function onProgress(p) {
  if (p.status === "PAGE_DONE" && p.duration_ms != null && state.durations[p.stage]) {
    const list = state.durations[p.stage];
    list.push(p.duration_ms);
    if (list.length > 2000) list.shift();
  }
  if (p.status === "PAGE_DONE" && p.stage === "LAYOUT") {
    state.pageTimes.push(Date.now());
    state.perSecond[HISTORY_S - 1] += 1;
    state.counts.pages += 1;
    $("#pages-live").textContent = state.counts.pages;
  }
  refreshDoc(p.doc_id);
}

function onCompleted(c) {
  state.counts[c.status] = (state.counts[c.status] || 0) + 1;
  $("#docs-completed").textContent = state.counts.OK + state.counts.PARTIAL + state.counts.FAILED;
  $("#docs-ok").textContent = state.counts.OK;
  $("#docs-partial").textContent = state.counts.PARTIAL;
  $("#docs-failed").textContent = state.counts.FAILED;
  refreshDoc(c.doc_id);
}

function connect() {
  const source = new EventSource("/v1/events"); // reconnects with Last-Event-ID by itself: no gap
  const pill = $("#connection");
  source.onopen = () => {
    pill.textContent = "live";
    pill.className = "pill on";
    pill.dataset.state = "live";
  };
  source.onerror = () => {
    pill.textContent = "reconnecting…";
    pill.className = "pill off";
    pill.dataset.state = "reconnecting";
  };
  source.addEventListener("progress", (e) => onProgress(JSON.parse(e.data)));
  source.addEventListener("completed", (e) => onCompleted(JSON.parse(e.data)));
}

// --- throughput and lag -------------------------------------------------------------------------

function tick() {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  while (state.lastSecond < second) {
    state.perSecond.shift();
    state.perSecond.push(0);
    state.lastSecond += 1;
  }
  state.pageTimes = state.pageTimes.filter((t) => now - t < WINDOW_S * 1000);
  $("#pages-per-second").textContent = (state.pageTimes.length / WINDOW_S).toFixed(2);
  drawSparkline();
  renderLiveLatency();
}

function drawSparkline() {
  const canvas = $("#throughput");
  const ctx = canvas.getContext("2d");
  const max = Math.max(1, ...state.perSecond);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#2b6cb0";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  state.perSecond.forEach((v, i) => {
    const x = (i / (HISTORY_S - 1)) * canvas.width;
    const y = canvas.height - 2 - (v / max) * (canvas.height - 4);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.stroke();
}

async function pollLag() {
  try {
    const lag = await getJSON("/v1/lag");
    $("#lag-total").textContent = lag.measured_at == null ? "–" : lag.total;
    fillTable("#lag-table", Object.entries(lag.topics).map(([topic, n]) => [topic, n]));
  } catch (err) {
    $("#lag-total").textContent = "–";
  }
}

// --- drill-down: a page image with OCR word boxes and layout regions ----------------------------

function renderDrillHeader(doc) {
  $("#dd-title").textContent = `${doc.filename || doc.doc_id} · ${doc.status}`;
  const pages = $("#dd-pages");
  const completed = doc.result && doc.result.page_count > 0;
  if (!completed) {
    pages.textContent = doc.status === "FAILED" ? "no pages" : "pages appear when the document completes";
    return;
  }
  if (pages.childElementCount === doc.result.page_count) return;
  pages.replaceChildren(
    ...doc.result.pages.map((p) => {
      const button = document.createElement("button");
      button.textContent = `page ${p.page_no}`;
      button.dataset.page = p.page_no;
      button.addEventListener("click", () => showPage(doc.doc_id, p.page_no));
      return button;
    }),
  );
  showPage(doc.doc_id, 1);
}

async function drill(docId) {
  state.selected = docId;
  $("#drilldown").hidden = false;
  $("#dd-pages").replaceChildren();
  $("#page-overlay").replaceChildren();
  $("#page-image").removeAttribute("src");
  renderLatest();
  const doc = await getJSON(`/v1/documents/${encodeURIComponent(docId)}`);
  state.docs.set(docId, doc);
  renderDrillHeader(doc);
}

function svgRect(cls, [x0, y0, x1, y1]) {
  const r = document.createElementNS("http://www.w3.org/2000/svg", "rect");
  r.setAttribute("class", cls);
  r.setAttribute("x", x0);
  r.setAttribute("y", y0);
  r.setAttribute("width", x1 - x0);
  r.setAttribute("height", y1 - y0);
  return r;
}

async function showPage(docId, pageNo) {
  document.querySelectorAll("#dd-pages button").forEach((b) => b.classList.toggle("active", +b.dataset.page === pageNo));
  const base = `/v1/documents/${encodeURIComponent(docId)}/pages/${pageNo}`;
  const page = await getJSON(base);
  const svg = $("#page-overlay");
  svg.setAttribute("viewBox", `0 0 ${page.width} ${page.height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const shapes = [];
  for (const region of page.regions || []) {
    shapes.push(svgRect("region", region.bbox));
    const label = document.createElementNS("http://www.w3.org/2000/svg", "text");
    label.setAttribute("class", "region-label");
    label.setAttribute("x", region.bbox[0]);
    label.setAttribute("y", Math.max(24, region.bbox[1] - 6));
    label.textContent = region.kind;
    shapes.push(label);
  }
  let words = 0;
  for (const line of page.lines || []) {
    for (const word of line.words) {
      const rect = svgRect("word", word.bbox);
      const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
      title.textContent = `${word.text} (${Math.round(word.confidence * 100)}%)`;
      rect.appendChild(title);
      shapes.push(rect);
      words += 1;
    }
  }
  svg.replaceChildren(...shapes);
  $("#page-image").src = `${base}/image`;
  $("#dd-info").textContent = `${words} words · ${(page.regions || []).length} regions · ${page.engine} ${page.engine_version}`;
}

$("#show-words").addEventListener("change", (e) => $("#page-view").classList.toggle("hide-words", !e.target.checked));
$("#show-regions").addEventListener("change", (e) => $("#page-view").classList.toggle("hide-regions", !e.target.checked));

// --- start ---------------------------------------------------------------------------------------

async function start() {
  connect();
  try {
    const { documents } = await getJSON("/v1/documents?limit=15");
    for (const doc of documents) state.docs.set(doc.doc_id, doc);
  } catch (err) {
    console.warn("latest documents", err);
  }
  renderLatest();
  setInterval(tick, 1000);
  pollLag();
  setInterval(pollLag, 3000);
  pollSql();
  setInterval(pollSql, 5000);
}

start();
