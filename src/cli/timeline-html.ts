/**
 * `hindsight trace timeline`: one self-contained HTML file (inline SVG, CSS and script; nothing
 * fetched) picturing a trace along the debugger's global step: a lane per hart showing when it ran,
 * ownership transfers as arrows between lanes (coloured by page for the hottest pages), interrupt
 * line changes, console output and where the run ended. Long traces are binned so the file stays
 * small whatever the trace's length: at most BINS columns of activity, MAX_ARROWS arrows and
 * MAX_MARKS marks per kind; beyond that, neighbours are merged and the merged count shown.
 */
import type { DecodedTrace, Row } from '../../traces/trace-views.js';

/** Columns the step axis is cut into for activity and merged marks. */
const BINS = 1200;
/** Draw every turn as its own bar up to this many; bin beyond. */
const MAX_TURN_BARS = 3000;
const MAX_ARROWS = 1500;
const MAX_MARKS = 2000;
/** Turns embedded for the exact hover readout; beyond, icounts at bin edges (shown as ≈). */
const MAX_EMBEDDED_TURNS = 50_000;
const HOT_PAGES = 8;

const WIDTH = 1200;
const LEFT = 120;
const RIGHT = 30;
const TOP = 34;
const LANE = 64;
const LANE_GAP = 14;

export const HART_COLOURS = ['#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#17becf', '#bcbd22', '#e377c2', '#7f7f7f'];
const PAGE_COLOURS = ['#d62728', '#ff7f0e', '#e6194b', '#f032e6', '#911eb4', '#4363d8', '#9a6324', '#469990'];

export interface TimelineMeta {
  tracePath: string;
  harts: number;
  sched: string;
  exitCode: number | null;
  stopReason: string | null;
  complete: boolean;
  truncatedReason: string | null;
  chaosSeed: number | null;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(n: number): string {
  return n.toLocaleString('en');
}

interface Mark { step: number; hart: number; title: string }

/** Merges marks that fall in the same bin of the same hart when there are too many to draw. */
function binMarks(marks: Mark[], total: number, what: string): (Mark & { count: number })[] {
  if (marks.length <= MAX_MARKS) return marks.map((m) => ({ ...m, count: 1 }));
  const bins = new Map<string, Mark & { count: number }>();
  for (const m of marks) {
    const key = `${m.hart}:${Math.floor((m.step / Math.max(1, total)) * BINS)}`;
    const b = bins.get(key);
    if (b) b.count++;
    else bins.set(key, { ...m, count: 1 });
  }
  return [...bins.values()].map((b) => (b.count > 1 ? { ...b, title: `${b.count} ${what} from step ${fmt(b.step)} on; first: ${b.title}` } : b));
}

export function renderTimeline(decoded: DecodedTrace, meta: TimelineMeta): string {
  const { steps, rows, finals } = decoded;
  // One pass over the events (each pass decodes every batch of the trace again).
  const transfers: Row[] = [];
  const irqEvents: Row[] = [];
  for (const { row, transfers: ts } of decoded.eventRows()) {
    transfers.push(...ts);
    if (row.kind === 'irq') irqEvents.push(row);
  }
  const total = Math.max(1, steps.totalSteps);
  const harts = meta.harts;
  const plotW = WIDTH - LEFT - RIGHT;
  const height = TOP + harts * (LANE + LANE_GAP) + 40;
  const laneY = (h: number) => TOP + h * (LANE + LANE_GAP);
  const x = (s: number) => LEFT + (s / total) * plotW;
  const svg: string[] = [];
  const seek = (s: number) => `monitor seek ${s}`;

  // Lanes.
  for (let h = 0; h < harts; h++) {
    svg.push(`<g class="lane" data-hart="${h}"><rect class="lane-bg" x="${LEFT}" y="${laneY(h)}" width="${plotW}" height="${LANE}"/>` +
      `<text class="lane-label" x="${LEFT - 8}" y="${laneY(h) + LANE / 2 + 4}" text-anchor="end">hart ${h}</text>` +
      `<text class="lane-sub" x="${LEFT - 8}" y="${laneY(h) + LANE / 2 + 18}" text-anchor="end">${fmt(finals[h] ?? 0)} insns</text></g>`);
  }

  // When each hart ran: its turns, or per-bin shares of the steps when there are too many turns.
  const runs: string[] = [];
  if (steps.turns.length <= MAX_TURN_BARS) {
    for (const t of steps.turns) {
      const s1 = t.fromStep + (t.toIcount - t.fromIcount);
      runs.push(`<rect class="run" fill="${HART_COLOURS[t.hart % HART_COLOURS.length]}" data-s0="${t.fromStep}" data-s1="${s1}" x="${x(t.fromStep).toFixed(2)}" y="${laneY(t.hart) + 10}" width="${Math.max(1, x(s1) - x(t.fromStep)).toFixed(2)}" height="${LANE - 20}">` +
        `<title>hart ${t.hart}: icount ${fmt(t.fromIcount)}..${fmt(t.toIcount)} at steps ${fmt(t.fromStep)}..${fmt(s1)} (${seek(t.fromStep)})</title></rect>`);
    }
  } else {
    const share = Array.from({ length: harts }, () => new Float64Array(BINS));
    const binSize = total / BINS;
    for (const t of steps.turns) {
      let s = t.fromStep;
      const end = t.fromStep + (t.toIcount - t.fromIcount);
      while (s < end) {
        const b = Math.min(BINS - 1, Math.floor(s / binSize));
        const binEnd = Math.min(end, (b + 1) * binSize);
        share[t.hart][b] += Math.max(0, binEnd - s);
        s = binEnd > s ? binEnd : end;
      }
    }
    for (let h = 0; h < harts; h++) {
      for (let b = 0; b < BINS; b++) {
        const f = share[h][b] / binSize;
        if (f <= 0) continue;
        const s0 = Math.round(b * binSize);
        const s1 = Math.round((b + 1) * binSize);
        const hgt = Math.max(2, (LANE - 20) * Math.min(1, f));
        runs.push(`<rect class="run" fill="${HART_COLOURS[h % HART_COLOURS.length]}" data-s0="${s0}" data-s1="${s1}" x="${x(s0).toFixed(2)}" y="${(laneY(h) + 10 + (LANE - 20 - hgt)).toFixed(2)}" width="${Math.max(0.6, x(s1) - x(s0)).toFixed(2)}" height="${hgt.toFixed(2)}">` +
          `<title>hart ${h} ran ${(100 * Math.min(1, f)).toFixed(0)}% of steps ${fmt(s0)}..${fmt(s1)} (${seek(s0)})</title></rect>`);
      }
    }
  }
  svg.push(`<g id="runs">${runs.join('')}</g>`);

  // Hottest pages by transfers.
  const byPage = new Map<string, { label: string; count: number; harts: Set<number> }>();
  for (const t of transfers) {
    const key = t.bus === 1 ? 'bus' : String(t.page);
    const label = t.bus === 1 ? 'device bus (MMIO)' : `page ${t.page} (0x${Number(t.address).toString(16)})`;
    const p = byPage.get(key) ?? { label, count: 0, harts: new Set<number>() };
    p.count++;
    p.harts.add(Number(t.release_hart));
    p.harts.add(Number(t.acquire_hart));
    byPage.set(key, p);
  }
  const hot = [...byPage.entries()].sort((a, b) => b[1].count - a[1].count).slice(0, HOT_PAGES);
  const pageColour = new Map(hot.map(([key], i) => [key, PAGE_COLOURS[i % PAGE_COLOURS.length]]));

  // Transfers: release (one lane) -> acquire (another lane).
  const arrows: string[] = [];
  const crossing = transfers.filter((t) => t.release_step !== null && t.release_hart !== t.acquire_hart);
  type Arrow = { s0: number; s1: number; from: number; to: number; key: string; count: number; title: string };
  let list: Arrow[] = crossing.map((t) => {
    const key = t.bus === 1 ? 'bus' : String(t.page);
    const what = t.bus === 1 ? 'device bus' : `page ${t.page} (0x${Number(t.address).toString(16)})`;
    return {
      s0: Number(t.release_step), s1: Number(t.acquire_step), from: Number(t.release_hart), to: Number(t.acquire_hart), key, count: 1,
      title: `${what}: hart ${t.release_hart} released it at icount ${fmt(Number(t.release_icount))} (step ${fmt(Number(t.release_step))}), ` +
        `hart ${t.acquire_hart} acquired it for ${t.write ? 'write' : 'read'} at icount ${fmt(Number(t.acquire_icount))} (${seek(Number(t.acquire_step))})`,
    };
  });
  if (list.length > MAX_ARROWS) {
    const merged = new Map<string, Arrow>();
    for (const a of list) {
      const k = `${a.from}>${a.to}:${pageColour.has(a.key) ? a.key : 'other'}:${Math.floor((a.s1 / total) * BINS / 4)}`;
      const m = merged.get(k);
      if (m) m.count++;
      else merged.set(k, { ...a, key: pageColour.has(a.key) ? a.key : 'other' });
    }
    list = [...merged.values()].map((a) => (a.count > 1 ? { ...a, title: `${a.count} transfers hart ${a.from} -> hart ${a.to} from step ${fmt(a.s1)} on; first: ${a.title}` } : a));
  }
  for (const a of list) {
    const colour = pageColour.get(a.key) ?? '#999';
    const y0 = a.from < a.to ? laneY(a.from) + LANE : laneY(a.from);
    const y1 = a.from < a.to ? laneY(a.to) : laneY(a.to) + LANE;
    const w = a.count > 1 ? Math.min(4, 1 + Math.log2(a.count) / 2) : 1;
    arrows.push(`<line class="transfer" data-s0="${a.s0}" data-s1="${a.s1}" x1="${x(a.s0).toFixed(2)}" y1="${y0}" x2="${x(a.s1).toFixed(2)}" y2="${y1}" stroke="${colour}" stroke-width="${w.toFixed(1)}" marker-end="url(#arrow)"><title>${esc(a.title)}</title></line>`);
  }
  svg.push(`<g id="transfers">${arrows.join('')}</g>`);

  // Interrupt line changes (top edge of the lane) and console output (bottom edge).
  const irqs = binMarks(irqEvents.map((e) => ({
    step: Number(e.step), hart: Number(e.hart), title: `hart ${e.hart}: interrupt lines 0x${Number(e.lines).toString(16)} from icount ${fmt(Number(e.icount))} (${seek(Number(e.step))})`,
  })), total, 'interrupt line changes');
  svg.push(`<g id="irqs">${irqs.map((m) => `<rect class="irq" data-s="${m.step}" x="${(x(m.step) - 1).toFixed(2)}" y="${laneY(m.hart)}" width="2" height="9"><title>${esc(m.title)}</title></rect>`).join('')}</g>`);
  const consoleMarks = binMarks(rows.console.filter((c) => c.hart !== null).map((c) => ({
    step: Number(c.step), hart: Number(c.hart), title: `hart ${c.hart} printed ${JSON.stringify(String(c.text))} at icount ${fmt(Number(c.icount))} (${seek(Number(c.step))})`,
  })), total, 'console outputs');
  svg.push(`<g id="console-marks">${consoleMarks.map((m) => `<path class="out" data-s="${m.step}" d="M${x(m.step).toFixed(2)},${laneY(m.hart) + LANE - 9} l-4,8 h8 z"><title>${esc(m.title)}</title></path>`).join('')}</g>`);

  // The end: where the guest stopped (red when it failed).
  const failed = meta.exitCode !== null && meta.exitCode !== 0;
  const endLabel = meta.exitCode !== null ? `${failed ? 'FAILED: ' : ''}exit ${meta.exitCode} (${meta.stopReason})` : `truncated: ${meta.truncatedReason ?? 'unfinished'}`;
  svg.push(`<g id="end" class="${failed ? 'failed' : 'passed'}"><line class="end-line" data-s="${total}" x1="${x(total)}" x2="${x(total)}" y1="${TOP - 8}" y2="${laneY(harts - 1) + LANE + 4}"/>` +
    `<text class="end-label" data-s="${total}" x="${x(total) - 4}" y="${TOP - 12}" text-anchor="end">${esc(endLabel)} at step ${fmt(total)}</text><title>${esc(endLabel)}: ${seek(total)}</title></g>`);

  // Hover data: the turns (exact) or each hart's icount at bin edges (approximate).
  const embedExact = steps.turns.length <= MAX_EMBEDDED_TURNS;
  const hoverData = embedExact
    ? { exact: true, turns: [...steps.turns].map((t) => [t.hart, t.fromIcount, t.toIcount, t.fromStep]) }
    : { exact: false, edges: edgesOf(decoded, harts, total) };

  const hotRows = hot.map(([key, p]) => `<tr><td><span class="swatch" style="background:${pageColour.get(key)}"></span>${esc(p.label)}</td><td class="num">${fmt(p.count)}</td><td>${[...p.harts].sort((a, b) => a - b).map((h) => `hart ${h}`).join(', ')}</td></tr>`).join('');
  const consoleLines = rows.console.slice(0, 400).map((c) =>
    `<tr title="${c.step !== null ? esc(seek(Number(c.step))) : ''}"><td class="num">${c.step !== null ? fmt(Number(c.step)) : ''}</td><td>${c.hart !== null ? `hart ${c.hart}` : ''}</td><td><code>${esc(String(c.text).replace(/\n$/, ''))}</code></td></tr>`).join('');
  const legend = Array.from({ length: harts }, (_, h) => `<span class="swatch" style="background:${HART_COLOURS[h % HART_COLOURS.length]}"></span>hart ${h}`).join(' ');
  const notes = [
    `${harts} hart${harts === 1 ? '' : 's'}, ${fmt(total)} global steps (instructions of all harts), ${meta.sched} recording`,
    meta.chaosSeed !== null ? `recorded with --chaos=${meta.chaosSeed}` : null,
    steps.exact ? 'steps are the canonical timeline of `hindsight debug` (exact)' : 'serial trace: steps assume no hart idled in WFI (approximate)',
    `${fmt(transfers.length)} ownership transfers, ${fmt(irqEvents.length)} interrupt line changes, ${fmt(rows.console.length)} console runs`,
  ].filter(Boolean).join(' · ');

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>hindsight timeline: ${esc(meta.tracePath)}</title>
<style>
body{font:13px system-ui,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:17px;margin:0 0 4px}
.sub{color:#555;margin-bottom:8px}
#plot{width:100%;height:auto;border:1px solid #ccc;cursor:crosshair;user-select:none;background:#fff}
.lane-bg{fill:#f3f4f6}
.lane-label{font-weight:600;font-size:13px}
.lane-sub{fill:#666;font-size:10px}
.irq{fill:#f59e0b}
.out{fill:#111}
.end-line{stroke-width:2}
.failed .end-line{stroke:#dc2626}.failed .end-label{fill:#dc2626;font-weight:700}
.passed .end-line{stroke:#16a34a}.passed .end-label{fill:#16a34a}
.axis text{font-size:10px;fill:#444}.axis line{stroke:#bbb}
#cursor{stroke:#000;stroke-dasharray:3 3;pointer-events:none}
#readout{font:12px ui-monospace,monospace;min-height:1.4em;margin:6px 0;padding:4px 6px;background:#f8fafc;border:1px solid #e2e8f0}
.swatch{display:inline-block;width:10px;height:10px;margin:0 4px 0 8px;vertical-align:middle}
table{border-collapse:collapse;margin-top:6px}td,th{padding:2px 8px;text-align:left;vertical-align:top}.num{text-align:right}
th{border-bottom:1px solid #ccc}
.cols{display:flex;gap:32px;flex-wrap:wrap}
button{font-size:12px}
</style></head><body>
<h1>hindsight timeline</h1>
<div class="sub">${esc(meta.tracePath)} · ${esc(notes)}</div>
<div>${legend} <span class="swatch" style="background:#f59e0b"></span>interrupt lines <span class="swatch" style="background:#111"></span>console output · arrows: ownership transfers (release → acquire) · wheel: zoom, drag: pan <button id="reset">reset zoom</button></div>
<div id="readout">hover over the lanes: the global step there and the <code>monitor seek STEP</code> that goes to it in <code>hindsight debug</code></div>
<svg id="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" data-total="${total}" data-left="${LEFT}" data-width="${plotW}" data-harts="${harts}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker>
<clipPath id="clip"><rect x="${LEFT}" y="0" width="${plotW}" height="${height}"/></clipPath></defs>
${svg.slice(0, harts).join('\n')}
<g clip-path="url(#clip)">
${svg.slice(harts).join('\n')}
</g>
<g class="axis" id="axis" transform="translate(0,${laneY(harts - 1) + LANE + 16})"></g>
<line id="cursor" x1="-10" x2="-10" y1="${TOP - 8}" y2="${laneY(harts - 1) + LANE}"/>
</svg>
<div class="cols">
<div><b>Hottest shared pages</b> (transfers between harts)<table><tr><th>page</th><th>transfers</th><th>harts</th></tr>${hotRows || '<tr><td colspan="3">no ownership transfers</td></tr>'}</table></div>
<div><b>Console output</b>${rows.console.length > 400 ? ` (first 400 of ${fmt(rows.console.length)} runs)` : ''}<table><tr><th>step</th><th>hart</th><th>text</th></tr>${consoleLines}</table></div>
</div>
<script id="hover-data" type="application/json">${JSON.stringify(hoverData).replace(/</g, '\\u003c')}</script>
<script>
${TIMELINE_SCRIPT}
</script>
</body></html>
`;
}

/** Each hart's icount at BINS + 1 evenly spaced steps (the hover readout of long traces). */
function edgesOf(decoded: DecodedTrace, harts: number, total: number): number[][] {
  const out: number[][] = [];
  const { turns } = decoded.steps;
  const icount = new Array<number>(harts).fill(0);
  const { hart, fromIcount, toIcount, fromStep } = turns;
  let t = 0;
  for (let b = 0; b <= BINS; b++) {
    const step = Math.round((b / BINS) * total);
    while (t < turns.length && fromStep.at(t) + (toIcount.at(t) - fromIcount.at(t)) <= step) {
      icount[hart.at(t)] = toIcount.at(t);
      t++;
    }
    const row = icount.slice();
    if (t < turns.length && fromStep.at(t) < step) row[hart.at(t)] = fromIcount.at(t) + (step - fromStep.at(t));
    out.push(row);
  }
  return out;
}

/** Zoom (wheel), pan (drag), axis and hover readout; positions come from each element's data-s attributes. */
const TIMELINE_SCRIPT = String.raw`(function () {
  var svg = document.getElementById('plot');
  var total = +svg.dataset.total, left = +svg.dataset.left, width = +svg.dataset.width, harts = +svg.dataset.harts;
  var data = JSON.parse(document.getElementById('hover-data').textContent);
  var view = [0, total];
  var axis = document.getElementById('axis'), cursor = document.getElementById('cursor'), readout = document.getElementById('readout');
  var NS = 'http://www.w3.org/2000/svg';
  function x(s) { return left + (s - view[0]) / (view[1] - view[0]) * width; }
  function stepAtX(px) { return view[0] + (px - left) / width * (view[1] - view[0]); }
  function layout() {
    svg.querySelectorAll('[data-s0]').forEach(function (el) {
      var a = x(+el.dataset.s0), b = x(+el.dataset.s1);
      if (el.tagName === 'line') { el.setAttribute('x1', a); el.setAttribute('x2', b); }
      else { el.setAttribute('x', a); el.setAttribute('width', Math.max(1, b - a)); }
    });
    svg.querySelectorAll('[data-s]').forEach(function (el) {
      var p = x(+el.dataset.s);
      if (el.tagName === 'rect') el.setAttribute('x', p - 1);
      else if (el.tagName === 'line') { el.setAttribute('x1', p); el.setAttribute('x2', p); }
      else if (el.tagName === 'text') el.setAttribute('x', p - 4);
    });
    svg.querySelectorAll('path.out').forEach(function (el) {
      var d = el.getAttribute('d').replace(/^M[-0-9.]+/, 'M' + x(+el.dataset.s).toFixed(2));
      el.setAttribute('d', d);
    });
    while (axis.firstChild) axis.removeChild(axis.firstChild);
    var span = view[1] - view[0], raw = span / 8, mag = Math.pow(10, Math.floor(Math.log10(Math.max(1, raw))));
    var tick = [1, 2, 5, 10].map(function (m) { return m * mag; }).find(function (t) { return t >= raw; }) || mag * 10;
    for (var s = Math.ceil(view[0] / tick) * tick; s <= view[1]; s += tick) {
      var l = document.createElementNS(NS, 'line'); l.setAttribute('x1', x(s)); l.setAttribute('x2', x(s)); l.setAttribute('y1', -6); l.setAttribute('y2', 0); axis.appendChild(l);
      var t = document.createElementNS(NS, 'text'); t.setAttribute('x', x(s)); t.setAttribute('y', 12); t.setAttribute('text-anchor', 'middle'); t.textContent = s.toLocaleString('en'); axis.appendChild(t);
    }
    var cap = document.createElementNS(NS, 'text'); cap.setAttribute('x', left - 8); cap.setAttribute('y', 12); cap.setAttribute('text-anchor', 'end'); cap.textContent = 'global step'; axis.appendChild(cap);
  }
  function icountsAt(step) {
    var out = [], i;
    for (i = 0; i < harts; i++) out.push(0);
    if (data.exact) {
      data.turns.forEach(function (t) { if (t[3] <= step) out[t[0]] = Math.min(t[2], t[1] + (step - t[3])); });
    } else {
      var b = Math.min(data.edges.length - 1, Math.round(step / total * (data.edges.length - 1)));
      out = data.edges[b];
    }
    return out;
  }
  function toSvgX(evt) { var r = svg.getBoundingClientRect(); return (evt.clientX - r.left) / r.width * svg.viewBox.baseVal.width; }
  var drag = null;
  svg.addEventListener('mousemove', function (evt) {
    var px = toSvgX(evt);
    if (drag) {
      var ds = (drag.px - px) / width * (drag.view[1] - drag.view[0]);
      view = clamp([drag.view[0] + ds, drag.view[1] + ds]); layout();
    }
    if (px < left || px > left + width) return;
    var step = Math.max(0, Math.min(total, Math.round(stepAtX(px))));
    cursor.setAttribute('x1', px); cursor.setAttribute('x2', px);
    var ic = icountsAt(step);
    readout.textContent = 'step ' + step.toLocaleString('en') + '  ·  ' + ic.map(function (n, h) { return 'hart ' + h + ' icount ' + (data.exact ? '' : '≈') + n.toLocaleString('en'); }).join(', ') + '  ·  in hindsight debug: monitor seek ' + step;
  });
  function clamp(v) {
    var span = Math.max(10, Math.min(total, v[1] - v[0]));
    var a = Math.max(0, Math.min(total - span, v[0]));
    return [a, a + span];
  }
  svg.addEventListener('wheel', function (evt) {
    evt.preventDefault();
    var px = toSvgX(evt), at = stepAtX(px), f = evt.deltaY < 0 ? 0.8 : 1.25;
    view = clamp([at - (at - view[0]) * f, at + (view[1] - at) * f]); layout();
  }, { passive: false });
  svg.addEventListener('mousedown', function (evt) { drag = { px: toSvgX(evt), view: view.slice() }; });
  window.addEventListener('mouseup', function () { drag = null; });
  document.getElementById('reset').addEventListener('click', function () { view = [0, total]; layout(); });
  layout();
})();`;
