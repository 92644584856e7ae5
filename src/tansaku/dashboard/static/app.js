// tansaku dashboard: polls the JSON endpoints and redraws. No external assets, and no string is
// ever parsed as HTML: every text from the study is inserted with textContent (or drawn on a
// canvas with fillText), so a parameter value such as "<script>" is shown as text.
"use strict";

(function () {
  const COLORS = {
    complete: "#4c72b0", best: "#2a9d3a", pruned: "#dd8452", failed: "#c44e52",
    running: "#9a9a9a", waiting: "#cccccc", axis: "#444", grid: "#e6e8eb",
  };
  const $ = (id) => document.getElementById(id);
  let current = null;      // name of the study shown
  let interval = 2000;     // ms, the server tells us
  let pollTimer = null;
  let listTimer = null;
  let generation = 0;      // ignore answers for a study no longer shown
  let lastData = null;     // last payload shown (redrawn on resize)

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function setStatus(text, isError) {
    const s = $("status");
    s.textContent = text;
    s.className = isError ? "status error" : "status";
  }

  function studyFromHash() {
    const m = /^#study=(.*)$/.exec(location.hash);
    if (!m) return null;
    try { return decodeURIComponent(m[1]); } catch (e) { return null; }
  }

  async function getJSON(url) {
    const r = await fetch(url, { cache: "no-store" });
    let body = {};
    try { body = await r.json(); } catch (e) { body = {}; }
    if (!r.ok) throw new Error(body.error || (r.status + " " + r.statusText));
    return body;
  }

  function fmt(v) {
    if (v === null || v === undefined) return "";
    if (typeof v !== "number") return String(v);
    if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(3);
    return String(Number(v.toPrecision(6)));
  }

  function fillTable(table, columns, rows, opts) {
    const thead = el("thead");
    const hr = el("tr");
    for (const c of columns) hr.appendChild(el("th", c));
    thead.appendChild(hr);
    const tbody = el("tbody");
    const stateCol = columns.indexOf("state");
    for (const row of rows) {
      const tr = el("tr");
      if (stateCol >= 0) tr.className = "state-" + String(row[stateCol]).replace(/[^a-z]/g, "");
      row.forEach((cell, i) => {
        const td = el("td", cell);
        if (columns[i] === "message") td.className = "message";
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    }
    if (!rows.length && opts && opts.empty) {
      const tr = el("tr");
      const td = el("td", opts.empty, "muted");
      td.colSpan = Math.max(1, columns.length);
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
    table.replaceChildren(thead, tbody);
  }

  // ------------------------------------------------------------------ study list
  async function loadStudies() {
    try {
      const d = await getJSON("/api/studies");
      $("storage").textContent = d.storage;
      const ul = $("study-list");
      const items = d.studies.map((s) => {
        const li = el("li");
        const a = el("a");
        a.href = "#study=" + encodeURIComponent(s.name);
        a.appendChild(el("span", s.name));
        const c = s.counts;
        const best = s.best === null ? "no result yet" : "best " + fmt(s.best);
        a.appendChild(el("span", c.complete + " complete, " + c.running + " running · " + best, "small"));
        if (s.name === current) a.className = "active";
        a.dataset.study = s.name;
        li.appendChild(a);
        return li;
      });
      ul.replaceChildren(...items);
      $("no-studies").hidden = d.studies.length > 0;
    } catch (e) {
      setStatus("cannot list studies: " + e.message, true);
    }
  }

  // ------------------------------------------------------------------ charts
  function canvas2d(canvas) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 640;
    const h = canvas.clientHeight || 300;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.font = "11px system-ui, sans-serif";
    return { ctx, w, h };
  }

  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) { hi = lo + 1; }
    const raw = (hi - lo) / n;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const out = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(t);
    return out;
  }

  function message(ctx, w, h, text) {
    ctx.fillStyle = "#666";
    ctx.textAlign = "center";
    ctx.fillText(text, w / 2, h / 2);
    ctx.textAlign = "left";
  }

  function drawHistory(canvas, h) {
    const { ctx, w, h: H } = canvas2d(canvas);
    if (h.message) { message(ctx, w, H, h.message); return; }
    // the axis fits the complete trials (like the report's figures); pruned trials' values and
    // outliers are pinned to its edges
    const ys = h.value.concat(h.best_value).filter((v) => v !== null);
    const xs = h.number.concat(h.pruned_number, h.failed_number, h.best_number);
    if (!xs.length || !ys.length) { message(ctx, w, H, "no data"); return; }
    let ylo = Math.min(...ys), yhi = Math.max(...ys);
    const logy = ylo > 0 && yhi / ylo > 1e3;
    const ty = (v) => (logy ? Math.log10(v) : v);
    const sorted = ys.map(ty).sort((a, b) => a - b);
    ylo = sorted[0]; yhi = sorted[sorted.length - 1];
    if (sorted.length >= 50) {
      const p1 = sorted[Math.floor(0.01 * (sorted.length - 1))];
      const p99 = sorted[Math.ceil(0.99 * (sorted.length - 1))];
      if (yhi - ylo > 20 * Math.max(p99 - p1, 1e-300)) { ylo = p1; yhi = p99; }
    }
    if (yhi === ylo) { yhi += 0.5; ylo -= 0.5; }
    const pad = (yhi - ylo) * 0.05;
    const edgeLo = ylo - pad / 2, edgeHi = yhi + pad / 2;
    ylo -= pad; yhi += pad;
    const xlo = 0, xhi = Math.max(1, Math.max(...xs));
    const L = 58, R = 10, T = 10, B = 30;
    const X = (x) => L + ((x - xlo) / (xhi - xlo)) * (w - L - R);
    const Y = (y) => {
      const v = Math.min(edgeHi, Math.max(edgeLo, ty(y)));
      return T + (1 - (v - ylo) / (yhi - ylo)) * (H - T - B);
    };
    // axes and grid
    ctx.strokeStyle = COLORS.grid; ctx.fillStyle = COLORS.axis; ctx.lineWidth = 1;
    for (const t of niceTicks(ylo, yhi, 5)) {
      const y = T + (1 - (t - ylo) / (yhi - ylo)) * (H - T - B);
      ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(w - R, y); ctx.stroke();
      ctx.textAlign = "right"; ctx.fillText(fmt(logy ? Math.pow(10, t) : t), L - 4, y + 4);
    }
    ctx.textAlign = "center";
    for (const t of niceTicks(xlo, xhi, 8)) {
      if (t !== Math.round(t)) continue;
      ctx.fillText(String(t), X(t), H - B + 14);
    }
    ctx.fillText("trial number", L + (w - L - R) / 2, H - 3);
    ctx.textAlign = "left";
    ctx.strokeStyle = COLORS.axis;
    ctx.strokeRect(L, T, w - L - R, H - T - B);
    // points
    ctx.globalAlpha = 0.55; ctx.fillStyle = COLORS.complete;
    h.number.forEach((n, i) => {
      const v = h.value[i]; if (v === null) return;
      ctx.beginPath(); ctx.arc(X(n), Y(v), 2.2, 0, 2 * Math.PI); ctx.fill();
    });
    ctx.fillStyle = COLORS.pruned;
    h.pruned_number.forEach((n, i) => {
      const v = h.pruned_value[i]; if (v === null) return;
      const x = X(n), y = Y(v);
      ctx.beginPath(); ctx.moveTo(x, y - 3); ctx.lineTo(x + 3, y + 2.5); ctx.lineTo(x - 3, y + 2.5); ctx.fill();
    });
    ctx.globalAlpha = 1; ctx.strokeStyle = COLORS.failed; ctx.lineWidth = 1.2;
    for (const n of h.failed_number) {
      const x = X(n), y = H - B - 5;
      ctx.beginPath(); ctx.moveTo(x - 3, y - 3); ctx.lineTo(x + 3, y + 3);
      ctx.moveTo(x + 3, y - 3); ctx.lineTo(x - 3, y + 3); ctx.stroke();
    }
    // best so far (steps)
    ctx.strokeStyle = COLORS.best; ctx.lineWidth = 2; ctx.beginPath();
    h.best_number.forEach((n, i) => {
      const x = X(n), y = Y(h.best_value[i]);
      if (i === 0) ctx.moveTo(x, y);
      else { ctx.lineTo(x, Y(h.best_value[i - 1])); ctx.lineTo(x, y); }
    });
    ctx.stroke();
  }

  function timeUnit(span) {
    if (span >= 3 * 3600) return [3600, "h"];
    if (span >= 180) return [60, "min"];
    return [1, "s"];
  }

  function drawTimeline(canvas, t) {
    const { ctx, w, h: H } = canvas2d(canvas);
    if (t.message) { message(ctx, w, H, t.message); return; }
    const n = t.rows.length;
    const labels = t.rows.map((r, i) => {
      const b = t.row_busy[i];
      return (r.length > 28 ? r.slice(0, 27) + "…" : r) + (b === null ? "" : "  " + Math.round(b * 100) + "%");
    });
    let L = 60;
    for (const s of labels) L = Math.max(L, ctx.measureText(s).width + 10);
    L = Math.min(L, w * 0.45);
    const R = 10, T = 6, B = 30;
    const rowH = (H - T - B) / Math.max(n, 1);
    const [div, unit] = timeUnit(t.span);
    const span = Math.max(t.span, 1e-9);
    const X = (s) => L + (s / span) * (w - L - R);
    ctx.fillStyle = COLORS.axis; ctx.textAlign = "right";
    labels.forEach((s, i) => {
      if (rowH < 9 && i % Math.ceil(9 / rowH) !== 0) return;
      ctx.fillText(s, L - 5, T + rowH * (i + 0.5) + 4);
    });
    ctx.textAlign = "center"; ctx.strokeStyle = COLORS.grid;
    for (const tk of niceTicks(0, span / div, 8)) {
      const x = X(tk * div);
      ctx.beginPath(); ctx.moveTo(x, T); ctx.lineTo(x, H - B); ctx.stroke();
      ctx.fillText(fmt(tk), x, H - B + 14);
    }
    ctx.fillText("time since the first trial started (" + unit + ")", L + (w - L - R) / 2, H - 3);
    ctx.textAlign = "left";
    const minW = 1;
    for (const st of ["complete", "pruned", "running", "failed"]) {
      ctx.fillStyle = COLORS[st];
      t.bar_state.forEach((s, i) => {
        if (s !== st) return;
        const x0 = X(t.bar_start[i]), x1 = X(t.bar_end[i]);
        const y = T + rowH * t.bar_row[i];
        ctx.fillRect(x0, y + rowH * 0.12, Math.max(minW, x1 - x0), rowH * 0.76);
      });
    }
    ctx.strokeStyle = COLORS.axis;
    ctx.strokeRect(L, T, w - L - R, H - T - B);
  }

  // ------------------------------------------------------------------ study view
  function render(d) {
    lastData = d;
    $("placeholder").hidden = true;
    $("study-error").hidden = true;
    $("study-view").hidden = false;
    $("study-name").textContent = d.name;
    const space = d.space.map((p) => p.name + " (" + p.kind + ")").join(", ");
    $("study-meta").textContent = d.direction + " · sampler " + (d.sampler || "?") + " · " + space;
    for (const k of ["complete", "pruned", "failed", "running", "waiting"]) {
      $("count-" + k).textContent = String(d.counts[k]);
    }
    if (d.best) {
      $("best-value").textContent = fmt(d.best.value) + " (trial " + d.best.number + ")";
      $("best-params").textContent = Object.entries(d.best.params).map(([k, v]) => k + "=" + v).join(", ");
    } else {
      $("best-value").textContent = "–";
      $("best-params").textContent = "no complete trial yet";
    }
    drawHistory($("history-chart"), d.history);
    drawTimeline($("timeline-chart"), d.timeline);
    $("timeline-busy").textContent = d.timeline.busy === null || d.timeline.busy === undefined ? ""
      : "(" + Math.round(d.timeline.busy * 100) + "% busy" + (d.timeline.merged ? ", bars merged" : "") + ")";
    fillTable($("top-table"), d.top.columns, d.top.rows, { empty: "no complete trial yet" });
    fillTable($("recent-table"), d.recent.columns, d.recent.rows, { empty: "no trial yet" });
    $("failures-block").hidden = d.failures.length === 0;
    fillTable($("failures-table"), ["trial", "message"], d.failures);
    document.title = "tansaku: " + d.name;
    for (const a of document.querySelectorAll("#study-list a")) {  // keep its list entry current
      if (a.dataset.study !== d.name || a.childNodes.length < 2) continue;
      const best = d.best ? "best " + fmt(d.best.value) : "no result yet";
      a.childNodes[1].textContent = d.counts.complete + " complete, " + d.counts.running + " running · " + best;
    }
    $("study-view").dataset.generatedAt = String(d.generated_at);
  }

  async function poll(gen) {
    if (gen !== generation || !current) return;
    try {
      const d = await getJSON("/api/study?name=" + encodeURIComponent(current));
      if (gen !== generation) return;
      if (d.interval) interval = Math.max(200, d.interval * 1000);
      render(d);
      setStatus("live · updated " + new Date().toLocaleTimeString(), false);
    } catch (e) {
      if (gen !== generation) return;
      $("study-error").textContent = e.message;
      $("study-error").hidden = false;
      setStatus("error: " + e.message, true);
    } finally {
      if (gen === generation) pollTimer = setTimeout(() => poll(gen), interval);
    }
  }

  function show() {
    current = studyFromHash();
    generation += 1;
    clearTimeout(pollTimer);
    for (const a of document.querySelectorAll("#study-list a")) {
      a.className = a.dataset.study === current ? "active" : "";
    }
    lastData = null;
    if (!current) {
      $("study-view").hidden = true;
      $("placeholder").hidden = false;
      setStatus("", false);
      return;
    }
    poll(generation);
  }

  async function listLoop() {
    await loadStudies();
    listTimer = setTimeout(listLoop, Math.max(5000, interval * 3));
  }

  window.addEventListener("hashchange", show);
  window.addEventListener("resize", () => { if (lastData) render(lastData); });
  document.addEventListener("DOMContentLoaded", () => {
    listLoop();
    show();
  });
  void listTimer;
})();
