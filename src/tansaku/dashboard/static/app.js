// tansaku dashboard: polls the JSON endpoints and redraws. No external assets (the chart library,
// uPlot, is vendored: /uplot.min.js), and no string is ever parsed as HTML: every text from the
// study is inserted with textContent (or drawn on a canvas), so a parameter value such as
// "<script>" is shown as text.
"use strict";

(function () {
  const COLORS = {
    complete: "#4c72b0", best: "#2a9d3a", pruned: "#dd8452", failed: "#c44e52",
    running: "#9a9a9a", waiting: "#cccccc", axis: "#444", grid: "#e6e8eb",
  };
  const $ = (id) => document.getElementById(id);
  let current = null;      // name of the study shown
  let compare = null;      // name of the study compared with it (or null)
  let compareData = null;  // its last payload
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

  // "#study=NAME" or "#study=NAME&compare=OTHER" (names URL-encoded, so "&" is %26)
  function hashPart(key) {
    for (const part of location.hash.replace(/^#/, "").split("&")) {
      const eq = part.indexOf("=");
      if (eq > 0 && part.slice(0, eq) === key) {
        try { return decodeURIComponent(part.slice(eq + 1)); } catch (e) { return null; }
      }
    }
    return null;
  }
  const studyFromHash = () => hashPart("study");

  function hashFor(study, other) {
    return "#study=" + encodeURIComponent(study) + (other ? "&compare=" + encodeURIComponent(other) : "");
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
      const sel = $("compare");
      const names = d.studies.map((s) => s.name).filter((n) => n !== current);
      const have = [...sel.options].slice(1).map((o) => o.value);
      if (have.join("\u0000") !== names.join("\u0000")) {
        sel.replaceChildren(el("option", "(none)"), ...names.map((n) => {
          const o = el("option", n);
          o.value = n;
          return o;
        }));
        sel.options[0].value = "";
      }
      sel.value = compare && names.includes(compare) ? compare : "";
      $("no-studies").hidden = d.studies.length > 0;
    } catch (e) {
      setStatus("cannot list studies: " + e.message, true);
    }
  }

  // ------------------------------------------------------------------ charts (uPlot)
  // Every chart is a uPlot instance kept between polls: new data is set in place (a zoomed
  // chart keeps its zoom), a chart whose series change is rebuilt.  uPlot writes labels with
  // textContent; its own legend is off: legends and the hover box are built here with el().
  const charts = {};            // chart id -> {u, sig, zoom: [min, max] | null}
  const hiddenStates = new Set();
  const COMPARE = "#8e44ad";

  function chartWidth(box, spec) { return Math.max((spec && spec.minWidth) || 280, (box.clientWidth || 600) - 4); }

  function chartMessage(id, text) {
    const box = $(id);
    if (charts[id]) { charts[id].u.destroy(); delete charts[id]; }
    box.replaceChildren(el("div", text, "msg"));
    box.dataset.points = "0";
  }

  function legend(id, items) {
    const box = $(id);
    if (!box) return;
    box.replaceChildren(...items.flatMap(([label, color, line]) => {
      const sw = el("i", null, line ? "sw line" : "sw");
      sw.style.background = color;
      return [sw, el("span", label)];
    }));
  }

  function tooltip(lines, ev) {
    const t = $("tooltip");
    if (!lines || !lines.length) { t.hidden = true; return; }
    t.replaceChildren(...lines.map((l) => el("div", l)));
    t.hidden = false;
    const x = ev ? ev.clientX : 0, y = ev ? ev.clientY : 0;
    t.style.left = Math.min(x + 14, window.innerWidth - t.offsetWidth - 6) + "px";
    t.style.top = Math.max(4, y - t.offsetHeight - 10) + "px";
  }

  let lastMouse = null;
  document.addEventListener("mousemove", (e) => { lastMouse = e; }, { passive: true });

  function countPoints(u) {
    let n = 0;
    for (let i = 1; i < u.series.length; i++) {
      if (!u.series[i].show || u.series[i].role !== "trials") continue;
      for (const v of u.data[i]) if (v !== null && v !== undefined) n++;
    }
    return n;
  }

  // (re)draw chart `id`: `spec` = {series, data, scales, axes, hover(u, idx) -> lines, draw(u)}
  function plot(id, spec) {
    const box = $(id);
    const sig = spec.series.map((s) => s.label + "|" + (s.role || "")).join(";") + "#" + JSON.stringify(spec.scales || {});
    let c = charts[id];
    if (c && c.sig === sig) {
      c.spec = spec;
      c.u.setData(spec.data, !c.zoom);
      if (c.zoom) c.u.setScale("x", { min: c.zoom[0], max: c.zoom[1] });
    } else {
      const zoom = c ? c.zoom : null;
      if (c) c.u.destroy();
      box.replaceChildren();
      c = charts[id] = { sig, zoom: null, spec };
      const entry = c;
      const opts = {
        width: chartWidth(box, spec), height: spec.height || 260,
        legend: { show: false },
        cursor: { drag: { x: true, y: false, setScale: true }, points: { show: false } },
        scales: Object.assign({ x: { time: false } }, spec.scales || {}),
        // tick labels through fmt (log axes otherwise print 0.0001 as "0")
        axes: (spec.axes || [{}, {}]).map((a) => Object.assign({ values: (u, vals) => vals.map((v) => (v === null ? "" : fmt(v))) }, a)),
        series: [{}].concat(spec.series.map((s) => Object.assign({}, s))),
        hooks: {
          setScale: [(u, key) => {
            if (key !== "x") return;
            box.dataset.xMin = String(u.scales.x.min);
            box.dataset.xMax = String(u.scales.x.max);
          }],
          setSelect: [(u) => { if (u.select.width > 0) entry.zoomPending = true; }],
          setCursor: [(u) => {
            const idx = u.cursor.idx;
            if (u.cursor.left === undefined || u.cursor.left < 0 || !entry.spec.hover) { tooltip(null); return; }
            tooltip(entry.spec.hover(u, idx), lastMouse);
          }],
          drawClear: [(u) => { if (entry.spec.under) entry.spec.under(u); }],
          draw: [(u) => {
            if (entry.spec.over) entry.spec.over(u);
            box.dataset.points = String(countPoints(u));
          }],
        },
      };
      c.u = new uPlot(opts, spec.data, box);
      c.u.over.addEventListener("mouseleave", () => tooltip(null));
      c.u.over.addEventListener("dblclick", () => { entry.zoom = null; });
      c.u.over.addEventListener("mouseup", () => {
        setTimeout(() => {
          if (entry.zoomPending) {
            entry.zoomPending = false;
            entry.zoom = [entry.u.scales.x.min, entry.u.scales.x.max];
          }
        }, 0);
      });
      if (zoom) { c.zoom = zoom; c.u.setScale("x", { min: zoom[0], max: zoom[1] }); }
    }
    applyStates(c.u);
    box.dataset.points = String(countPoints(c.u));
  }

  function applyStates(u) {
    for (let i = 1; i < u.series.length; i++) {
      const st = u.series[i].state;
      if (!st) continue;
      const show = !hiddenStates.has(st);
      if (u.series[i].show !== show) u.setSeries(i, { show });
    }
  }

  const dots = (color, size) => ({
    paths: () => null, role: "trials",
    points: { show: true, size: size || 5, fill: color, stroke: color, width: 1 },
    stroke: color,
  });
  const stepped = (color, width, dash) => ({
    paths: uPlot.paths.stepped({ align: 1 }), stroke: color, width: width || 2,
    dash: dash || undefined, spanGaps: true, points: { show: false },
  });

  // x values of several (x, y) sets on one sorted axis; returns [xs, ys1, ys2, ...]
  function align(sets) {
    const xs = [...new Set(sets.flatMap((s) => s[0]))].filter((v) => v !== null).sort((a, b) => a - b);
    const at = new Map(xs.map((x, i) => [x, i]));
    const out = [xs];
    for (const [x, y] of sets) {
      const col = new Array(xs.length).fill(null);
      x.forEach((v, i) => { if (v !== null && y[i] !== null && y[i] !== undefined) col[at.get(v)] = y[i]; });
      out.push(col);
    }
    return out;
  }

  function carry(col) {  // a step function known at some x: the value at every x after it
    let last = null;
    return col.map((v) => (v === null ? last : (last = v)));
  }

  function logScale(values) {
    const v = values.filter((x) => x !== null && x !== undefined);
    return v.length > 0 && Math.min(...v) > 0 && Math.max(...v) / Math.min(...v) > 1e3;
  }

  function lines(d, number, extra) {
    const out = ["trial " + number].concat(extra || []);
    const p = d.labels && d.labels[String(number)];
    if (p) out.push(p);
    return out;
  }

  function drawHistory(d, b) {
    const h = d.history;
    if (h.message && !(b && !b.history.message)) { chartMessage("history-chart", h.message); legend("history-legend", []); return; }
    const ys = h.value.concat(h.best_value, h.pruned_value);
    const finite = ys.filter((v) => v !== null);
    const bottom = finite.length ? Math.min(...finite) : 0;
    const sets = [
      [h.number, h.value],
      [h.pruned_number, h.pruned_value],
      [h.failed_number, h.failed_number.map(() => bottom)],
      [h.best_number, h.best_value],
    ];
    const series = [
      Object.assign(dots(COLORS.complete), { label: "complete", state: "complete" }),
      Object.assign(dots(COLORS.pruned), { label: "pruned", state: "pruned" }),
      Object.assign(dots(COLORS.failed, 6), { label: "failed", state: "failed" }),
      Object.assign(stepped(COLORS.best), { label: "best so far" }),
    ];
    const items = [["complete", COLORS.complete], ["pruned", COLORS.pruned], ["failed", COLORS.failed], ["best so far", COLORS.best, true]];
    if (b && !b.history.message) {
      sets.push([b.history.number, b.history.value], [b.history.best_number, b.history.best_value]);
      series.push(Object.assign(dots(COMPARE, 4), { label: b.name + " complete", state: "complete" }),
        Object.assign(stepped(COMPARE, 2, [6, 3]), { label: b.name + " best" }));
      items.push([b.name, COMPARE, true]);
      items[3][0] = d.name + " best so far";
    }
    const data = align(sets);
    data[4] = carry(data[4]);
    if (data.length > 6) data[6] = carry(data[6]);
    const states = ["complete", "pruned", "failed"];
    plot("history-chart", {
      series, data,
      scales: { y: logScale(finite) ? { distr: 3 } : {} },
      axes: [{ label: "trial number" }, { label: "objective", size: 60 }],
      hover: (u, idx) => {
        if (idx === null || idx === undefined) return null;
        const n = u.data[0][idx];
        for (let s = 1; s <= 3; s++) {
          const v = u.data[s][idx];
          if (v !== null && u.series[s].show) return lines(d, n, [states[s - 1] + (s === 3 ? "" : ", value " + fmt(v))]);
        }
        if (data.length > 5 && u.data[5][idx] !== null) return [b.name + ": trial " + n, "value " + fmt(u.data[5][idx])];
        return ["trial " + n, "best so far " + fmt(u.data[4][idx])];
      },
    });
    legend("history-legend", items);
  }

  function drawCurves(d) {
    const lc = d.curves;
    $("curves-note").textContent = lc.message ? "" : lc.note;
    // the cut-off drawn, as [steps, values] (the report's pruner_cutoff, computed server-side)
    $("curves-chart").dataset.cutoff = JSON.stringify(lc.message ? [[], []] : [lc.cutoff_step, lc.cutoff_value]);
    if (lc.message) { chartMessage("curves-chart", lc.message); legend("curves-legend", []); return; }
    const done = lc.curves.filter((c) => c.state === "complete" && c.value.length);
    const sign = d.direction === "maximize" ? -1 : 1;
    let best = null;
    for (const c of done) if (best === null || sign * c.value[c.value.length - 1] < sign * best.value[best.value.length - 1]) best = c;
    const sets = lc.curves.map((c) => [c.step, c.value]);
    const series = lc.curves.map((c) => {
      const isBest = best && c.number === best.number;
      const color = isBest ? COLORS.best : (COLORS[c.state] || COLORS.running);
      return {
        label: "trial " + c.number, state: c.state, role: "trials", number: c.number,
        stroke: color, width: isBest ? 2.2 : 1, spanGaps: true, alpha: isBest ? 1 : 0.55,
        points: { show: c.state === "pruned" ? (u, si) => true : false, size: 4, fill: color, stroke: color },
      };
    });
    const items = [["complete", COLORS.complete, true], ["pruned", COLORS.pruned, true]];
    if (best) items.push(["best (trial " + best.number + ")", COLORS.best, true]);
    if (lc.cutoff_step.length) {
      sets.push([lc.cutoff_step, lc.cutoff_value]);
      series.push(Object.assign(stepped("#222", 1.5, [5, 4]), { label: "cut-off" }));
      items.push(["cut-off: " + lc.cutoff_label, "#222", true]);
    }
    const data = align(sets);
    const all = lc.curves.flatMap((c) => c.value);
    plot("curves-chart", {
      series, data,
      scales: { y: logScale(all) ? { distr: 3 } : {} },
      axes: [{ label: "step" }, { label: "intermediate value", size: 60 }],
      hover: (u, idx) => {
        if (idx === null || idx === undefined) return null;
        const y = u.posToVal(u.cursor.top, "y");
        let pick = -1, gap = Infinity;
        for (let s = 1; s <= lc.curves.length; s++) {
          const v = u.data[s][idx];
          if (v === null || !u.series[s].show) continue;
          const g = Math.abs(u.valToPos(v, "y") - u.valToPos(y, "y"));
          if (g < gap) { gap = g; pick = s; }
        }
        if (pick < 0) return null;
        const c = lc.curves[pick - 1];
        return lines(d, c.number, [c.state + ", step " + u.data[0][idx] + ": " + fmt(u.data[pick][idx])]);
      },
    });
    legend("curves-legend", items.concat(lc.curves.length < lc.n_with_reports ? [[lc.curves.length + " of " + lc.n_with_reports + " trials", "#fff"]] : []));
  }

  const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function viridis(t) {
    t = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
    const i = Math.min(VIRIDIS.length - 2, Math.floor(t)), f = t - i;
    const c = VIRIDIS[i].map((v, k) => Math.round(v + f * (VIRIDIS[i + 1][k] - v)));
    return "rgba(" + c.join(",") + ",0.85)";
  }

  function edges(g, log) {  // cell borders around grid values
    const mid = (a, b) => (log ? Math.sqrt(a * b) : (a + b) / 2);
    const out = [g[0]];
    for (let i = 1; i < g.length; i++) out.push(mid(g[i - 1], g[i]));
    out.push(g[g.length - 1]);
    return out;
  }

  function drawContour(d) {
    const c = d.contour;
    if (!c || c.message || !c.pairs.length) { chartMessage("contour-chart", c ? c.message : "no data"); legend("contour-legend", []); return; }
    const p = c.pairs[0];
    const order = p.x.map((_, i) => i).filter((i) => p.x[i] !== null).sort((i, j) => p.x[i] - p.x[j]);
    const xs = order.map((i) => p.x[i]);
    const data = [xs, order.map((i) => p.y[i])];
    const z = p.z.flat().filter((v) => v !== null);
    const zlo = Math.min(...z), zhi = Math.max(...z);
    const ex = edges(p.grid_x, p.x_log), ey = edges(p.grid_y, p.y_log);
    const flip = d.direction === "maximize";
    const sign = flip ? -1 : 1;
    let best = -1;
    order.forEach((i, k) => { if (best < 0 || sign * p.value[i] < sign * p.value[order[best]]) best = k; });
    plot("contour-chart", {
      series: [Object.assign(dots("#fff", 5), { label: "trials", points: { show: true, size: 5, fill: "#fff", stroke: "#333", width: 1 } })],
      data,
      scales: {
        x: { time: false, distr: p.x_log ? 3 : 1, range: [p.grid_x[0], p.grid_x[p.grid_x.length - 1]] },
        y: { distr: p.y_log ? 3 : 1, range: [p.grid_y[0], p.grid_y[p.grid_y.length - 1]] },
      },
      axes: [{ label: p.x_name, grid: { show: false } }, { label: p.y_name, size: 60, grid: { show: false } }],
      under: (u) => {
        const ctx = u.ctx;
        ctx.save();
        for (let j = 0; j < p.grid_y.length; j++) {
          const y0 = u.valToPos(ey[j], "y", true), y1 = u.valToPos(ey[j + 1], "y", true);
          for (let i = 0; i < p.grid_x.length; i++) {
            const v = p.z[j][i];
            if (v === null) continue;
            const x0 = u.valToPos(ex[i], "x", true), x1 = u.valToPos(ex[i + 1], "x", true);
            const t = zhi > zlo ? (v - zlo) / (zhi - zlo) : 0.5;
            ctx.fillStyle = viridis(flip ? 1 - t : t);
            ctx.fillRect(x0, y1, x1 - x0 + 0.5, y0 - y1 + 0.5);
          }
        }
        ctx.restore();
      },
      over: (u) => {
        if (best < 0) return;
        const ctx = u.ctx;
        const x = u.valToPos(xs[best], "x", true), y = u.valToPos(data[1][best], "y", true);
        ctx.save(); ctx.fillStyle = COLORS.best; ctx.strokeStyle = "#fff"; ctx.lineWidth = 1.5;
        ctx.beginPath(); ctx.arc(x, y, 6 * (window.devicePixelRatio || 1), 0, 2 * Math.PI); ctx.fill(); ctx.stroke(); ctx.restore();
      },
      hover: (u) => {
        let pick = -1, gap = 12;
        for (let k = 0; k < xs.length; k++) {
          const g = Math.hypot(u.valToPos(xs[k], "x") - u.cursor.left, u.valToPos(data[1][k], "y") - u.cursor.top);
          if (g < gap) { gap = g; pick = k; }
        }
        if (pick < 0) return null;
        const i = order[pick];
        return lines(d, p.number[i], ["value " + fmt(p.value[i]), p.x_name + "=" + fmt(p.x[i]) + ", " + p.y_name + "=" + fmt(p.y[i])]);
      },
    });
    legend("contour-legend", [["fit " + fmt(zlo), viridis(flip ? 1 : 0)], [fmt(zhi), viridis(flip ? 0 : 1)], ["best", COLORS.best]]);
  }

  function drawEcdf(d, b) {
    const e = d.ecdf;
    if (e.message && !(b && !b.ecdf.message)) { chartMessage("ecdf-chart", e.message); legend("ecdf-legend", []); return; }
    const sets = [[e.value, e.fraction]];
    const series = [Object.assign(stepped(COLORS.complete, 2), { label: d.name })];
    const items = [[d.name, COLORS.complete, true]];
    if (b && !b.ecdf.message) {
      sets.push([b.ecdf.value, b.ecdf.fraction]);
      series.push(Object.assign(stepped(COMPARE, 2, [6, 3]), { label: b.name }));
      items.push([b.name, COMPARE, true]);
    }
    const data = align(sets).map((col, i) => (i === 0 ? col : carry(col)));
    plot("ecdf-chart", {
      series, data,
      scales: { x: { time: false, distr: logScale(data[0]) ? 3 : 1 }, y: { range: [0, 1.02] } },
      axes: [{ label: "objective value" }, { label: "share of trials ≤ value", size: 60 }],
      hover: (u, idx) => {
        if (idx === null || idx === undefined) return null;
        const out = ["value ≤ " + fmt(u.data[0][idx])];
        series.forEach((s, k) => {
          const v = u.data[k + 1][idx];
          if (v !== null) out.push(s.label + ": " + Math.round(v * 1000) / 10 + "% of its trials");
        });
        return out;
      },
    });
    legend("ecdf-legend", items);
  }

  // one scatter of objective i against objective j: the payload's front / dominated / infeasible groups
  function paretoSpec(d, p, groups, i, j, small) {
    const sets = groups.map(([, , ks]) => [ks.map((k) => p.values[i][k]), ks.map((k) => p.values[j][k])]);
    const axis = (q) => (small ? { size: 40 } : { label: p.names[q] + " (" + p.directions[q] + ")" });
    return {
      series: groups.map(([label, color], g) => Object.assign(dots(color, g === 0 ? 7 : 5), { label })),
      data: align(sets),
      height: small ? 170 : 260,
      minWidth: small ? 150 : 280,
      axes: [axis(i), Object.assign(axis(j), { size: small ? 48 : 60 })],
      hover: (u) => {
        let best = null, gap = 12;
        groups.forEach(([label, , ks]) => ks.forEach((k) => {
          const g = Math.hypot(u.valToPos(p.values[i][k], "x") - u.cursor.left, u.valToPos(p.values[j][k], "y") - u.cursor.top);
          if (g < gap) { gap = g; best = [k, label]; }
        }));
        if (!best) return null;
        const [k, label] = best;
        return lines(d, p.number[k], [label, p.names.map((n, q) => n + "=" + fmt(p.values[q][k])).join(", ")]);
      },
    };
  }

  function dropChart(id) {
    if (charts[id]) { charts[id].u.destroy(); delete charts[id]; }
  }

  // 3+ objectives: a matrix of small scatters, one per pair (i < j) at row i, column j; the
  // cells are rebuilt when the objectives change (another study), redrawn in place otherwise
  function drawParetoMatrix(d, p, groups, pairs) {
    const fig = $("pareto-matrix-figure");
    const box = $("pareto-matrix");
    const m = p.names.length;
    const sig = m < 3 ? "" : JSON.stringify(p.names);
    if (box.dataset.sig !== sig) {
      for (const c of box.querySelectorAll(".chart")) dropChart(c.id);
      box.replaceChildren();
      box.dataset.sig = sig;
      box.style.gridTemplateColumns = "repeat(" + Math.max(1, m - 1) + ", minmax(0, 1fr))";
      if (sig) {
        pairs.forEach(([i, j], k) => {
          const cell = el("div", null, "pareto-cell");
          cell.dataset.pair = i + "," + j;
          cell.style.gridRow = String(i + 1);
          cell.style.gridColumn = String(j);
          cell.append(el("div", p.names[i] + " × " + p.names[j], "cell-title"));
          const chart = el("div", null, "chart small");
          chart.id = "pareto-cell-" + k;
          cell.append(chart);
          box.append(cell);
        });
      }
    }
    fig.hidden = !sig;
    if (!sig) return;
    const [front, , bad] = groups.map(([, , ks]) => ks.length);
    pairs.forEach(([i, j], k) => {
      const cell = box.children[k];
      cell.dataset.front = String(front);
      cell.dataset.infeasible = String(bad);
      plot("pareto-cell-" + k, paretoSpec(d, p, groups, i, j, true));
    });
  }

  function drawPareto(d) {
    const p = d.pareto;
    $("pareto-figure").hidden = !p;
    $("hypervolume-figure").hidden = !p;
    if (!p) { drawParetoMatrix(d, { names: [] }, [], []); return; }
    const sel = $("pareto-pair");
    const m = p.names.length;
    const pairs = [];
    for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) pairs.push([i, j]);
    if (sel.options.length !== pairs.length) {
      sel.replaceChildren(...pairs.map(([i, j], k) => {
        const o = el("option", p.names[i] + " × " + p.names[j]);
        o.value = String(k);
        return o;
      }));
    }
    sel.hidden = pairs.length < 2;
    const [i, j] = pairs[Number(sel.value || 0)] || [0, 1];
    if (!p.number.length) {
      chartMessage("pareto-chart", "no complete trial yet");
      chartMessage("hypervolume-chart", "no complete trial yet");
      drawParetoMatrix(d, { names: [] }, [], []);
      return;
    }
    const pick = (f) => p.number.map((_, k) => k).filter(f);
    const groups = [
      ["Pareto front", COLORS.best, pick((k) => p.on_front[k])],
      ["dominated", COLORS.complete, pick((k) => p.feasible[k] && !p.on_front[k])],
      ["infeasible", COLORS.failed, pick((k) => !p.feasible[k])],
    ];
    plot("pareto-chart", paretoSpec(d, p, groups, i, j));
    legend("pareto-legend", groups.map(([label, color, ks]) => [label + " (" + ks.length + ")", color]));
    drawParetoMatrix(d, p, groups, pairs);
    if (!p.hv_number.length) { chartMessage("hypervolume-chart", "no feasible complete trial yet"); return; }
    plot("hypervolume-chart", {
      series: [Object.assign(stepped(COLORS.best, 2), { label: "hypervolume" })],
      data: [p.hv_number, p.hypervolume],
      axes: [{ label: "trial number" }, { label: "hypervolume", size: 60 }],
      hover: (u, idx) => (idx === null || idx === undefined ? null : ["up to trial " + u.data[0][idx], "hypervolume " + fmt(u.data[1][idx])]),
    });
  }

  function timeUnit(span) {
    if (span >= 3 * 3600) return [3600, "h"];
    if (span >= 180) return [60, "min"];
    return [1, "s"];
  }

  function drawTimeline(t) {
    if (t.message) { chartMessage("timeline-chart", t.message); return; }
    const n = t.rows.length;
    const [div, unit] = timeUnit(t.span);
    const span = Math.max(t.span, 1e-9) / div;
    const labels = t.rows.map((r, i) => {
      const b = t.row_busy[i];
      return (r.length > 24 ? r.slice(0, 23) + "…" : r) + (b === null ? "" : " " + Math.round(b * 100) + "%");
    });
    plot("timeline-chart", {
      series: [{ label: "bars", paths: () => null, points: { show: false } }],
      data: [[0, span], [null, null]],
      scales: { x: { time: false, range: (u, lo, hi) => [lo, hi] }, y: { range: [-0.5, Math.max(n, 1) - 0.5] } },
      axes: [
        { label: "time since the first trial started (" + unit + ")" },
        { size: 150, splits: () => t.rows.map((_, i) => i), values: (u, vals) => vals.map((v) => labels[v] || ""), grid: { show: false } },
      ],
      under: (u) => {
        const ctx = u.ctx;
        const h = Math.abs(u.valToPos(0, "y", true) - u.valToPos(1, "y", true)) * 0.76;
        ctx.save();
        for (const st of ["complete", "pruned", "running", "failed"]) {
          if (st !== "running" && hiddenStates.has(st)) continue;
          ctx.fillStyle = COLORS[st];
          t.bar_state.forEach((s, i) => {
            if (s !== st) return;
            const x0 = u.valToPos(t.bar_start[i] / div, "x", true), x1 = u.valToPos(t.bar_end[i] / div, "x", true);
            const y = u.valToPos(t.bar_row[i], "y", true);
            ctx.fillRect(x0, y - h / 2, Math.max(1, x1 - x0), h);
          });
        }
        ctx.restore();
      },
      hover: (u) => {
        const x = u.posToVal(u.cursor.left, "x") * div, row = Math.round(u.posToVal(u.cursor.top, "y"));
        for (let i = 0; i < t.bar_row.length; i++) {
          if (t.bar_row[i] === row && t.bar_start[i] <= x && x <= t.bar_end[i]) {
            return [t.rows[row], t.bar_state[i] + ", " + fmt(t.bar_start[i] / div) + "–" + fmt(t.bar_end[i] / div) + " " + unit];
          }
        }
        return null;
      },
    });
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
    const b = compare && compareData && compareData.name === compare ? compareData : null;
    drawHistory(d, b);
    drawCurves(d);
    drawContour(d);
    drawEcdf(d, b);
    drawPareto(d);
    drawTimeline(d.timeline);
    $("compare-card").hidden = !b;
    if (b) {
      $("compare-name").textContent = b.name;
      $("compare-summary").textContent = b.counts.complete + " complete, " + b.counts.pruned + " pruned, "
        + b.counts.failed + " failed · best " + (b.best ? fmt(b.best.value) + " (trial " + b.best.number + ")" : "–")
        + " · sampler " + (b.sampler || "?");
    }
    $("timeline-busy").textContent = d.timeline.busy === null || d.timeline.busy === undefined ? ""
      : "(" + Math.round(d.timeline.busy * 100) + "% busy" + (d.timeline.merged ? ", bars merged" : "") + ")";
    fillTable($("top-table"), d.top.columns, d.top.rows, { empty: "no complete trial yet" });
    fillTable($("recent-table"), d.recent.columns, d.recent.rows, { empty: "no trial yet" });
    filterRows();
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

  function filterRows() {
    const col = lastData ? lastData.recent.columns.indexOf("state") : -1;
    for (const tr of document.querySelectorAll("#recent-table tbody tr")) {
      const st = col >= 0 && tr.children[col] ? tr.children[col].textContent : "";
      tr.hidden = hiddenStates.has(st);
    }
  }

  async function poll(gen) {
    if (gen !== generation || !current) return;
    try {
      const [d, other] = await Promise.all([
        getJSON("/api/study?name=" + encodeURIComponent(current)),
        compare ? getJSON("/api/study?name=" + encodeURIComponent(compare)).catch((e) => ({ error: e.message })) : null,
      ]);
      if (gen !== generation) return;
      compareData = other && !other.error ? other : null;
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
    compare = hashPart("compare");
    if (compare === current) compare = null;
    compareData = null;
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
  window.addEventListener("resize", () => {
    for (const id of Object.keys(charts)) {
      const box = $(id);
      const spec = charts[id].spec;
      charts[id].u.setSize({ width: chartWidth(box, spec), height: spec.height || 260 });
    }
  });
  for (const box of document.querySelectorAll(".controls input[data-state]")) {
    box.addEventListener("change", () => {
      if (box.checked) hiddenStates.delete(box.dataset.state);
      else hiddenStates.add(box.dataset.state);
      if (lastData) render(lastData);
    });
  }
  $("compare").addEventListener("change", () => {
    if (current) location.hash = hashFor(current, $("compare").value || null);
  });
  $("pareto-pair").addEventListener("change", () => { if (lastData) drawPareto(lastData); });
  document.addEventListener("DOMContentLoaded", () => {
    listLoop();
    show();
  });
  void listTimer;
})();
