/**
 * The dashboard's one page: markup, style and script in a single response, with no external
 * resource. The script and the style are inline and allowed by their hashes in the
 * Content-Security-Policy, so no other script can run on the page. All data arrives as JSON
 * over Server-Sent Events and is put into the page as text (`textContent`), never as markup.
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root{--bg:#f4f5f7;--card:#fff;--ink:#1d2330;--muted:#667085;--line:#e3e6eb;
--closed:#16a34a;--open:#dc2626;--half:#d97706;--req:#2563eb;--fail:#dc2626;
font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
*{box-sizing:border-box}
body{margin:0;padding:16px 20px 28px}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:6px 18px;margin-bottom:14px}
h1{font-size:20px;margin:0;font-weight:650}
.summary{color:var(--muted)}
.summary b{color:var(--ink)}
.conn{margin-left:auto;font-size:12px;color:var(--muted);display:flex;align-items:center;gap:6px}
.conn::before{content:"";width:8px;height:8px;border-radius:50%;background:var(--muted)}
.conn.live::before{background:var(--closed)}
.conn.down::before{background:var(--open)}
#log{font-size:12px;color:var(--muted);margin:-6px 0 12px;min-height:1em}
#cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-top:5px solid var(--closed);border-radius:8px;padding:12px 14px;min-width:0}
.card.OPEN{border-top-color:var(--open)}
.card.HALF_OPEN{border-top-color:var(--half)}
.head{display:flex;align-items:center;gap:10px}
.name{font-size:16px;font-weight:650;overflow-wrap:anywhere;flex:1}
.badge{font-size:12px;font-weight:700;letter-spacing:.03em;color:#fff;background:var(--closed);border-radius:999px;padding:2px 10px;white-space:nowrap}
.OPEN .badge{background:var(--open)}
.HALF_OPEN .badge{background:var(--half)}
.sub{color:var(--muted);font-size:12px;margin:2px 0 8px;display:flex;justify-content:space-between;gap:8px}
.countdown{font-weight:600;color:var(--ink)}
.OPEN .countdown{color:var(--open)}
.HALF_OPEN .countdown{color:var(--half)}
.metrics{display:grid;grid-template-columns:repeat(4,1fr);gap:6px 10px;margin:6px 0 10px}
.metric .v{font-size:17px;font-weight:650;font-variant-numeric:tabular-nums;white-space:nowrap}
.metric .k{font-size:11px;white-space:nowrap;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.label{font-size:11px;color:var(--muted);display:flex;justify-content:space-between;margin-top:6px}
svg{display:block;width:100%}
.strip{height:12px;border-radius:3px;background:var(--line)}
.spark{height:44px;border-bottom:1px solid var(--line)}
.spark .req{fill:none;stroke:var(--req);stroke-width:1.5}
.spark .fail{fill:none;stroke:var(--fail);stroke-width:1.5}
.s-CLOSED{fill:var(--closed)} .s-OPEN{fill:var(--open)} .s-HALF_OPEN{fill:var(--half)}
.config{font-size:12px;color:var(--muted);margin-top:8px}
.error{font-size:12px;color:var(--open);margin-top:6px;overflow-wrap:anywhere}
.controls{display:flex;gap:6px;margin-top:10px}
.controls button{font:inherit;font-size:12px;padding:3px 10px;border:1px solid var(--line);border-radius:6px;background:#f9fafb;color:var(--ink);cursor:pointer}
.controls button:hover{border-color:var(--muted)}
.empty{color:var(--muted);padding:30px 0}
`;

const SCRIPT = `(function () {
'use strict';
var base = location.pathname.slice(-1) === '/' ? location.pathname : location.pathname + '/';
var tokenMeta = document.querySelector('meta[name="dashboard-token"]');
var token = tokenMeta ? tokenMeta.getAttribute('content') : '';
var grid = document.getElementById('cards');
var conn = document.getElementById('conn');
var summary = document.getElementById('summary');
var logLine = document.getElementById('log');
var SVGNS = 'http://www.w3.org/2000/svg';
var cards = new Map();
var data = null;
var offset = 0;
var LABEL = { CLOSED: 'CLOSED', OPEN: 'OPEN', HALF_OPEN: 'HALF-OPEN' };

function el(tag, cls, parent) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (parent) parent.appendChild(e);
  return e;
}
function svgEl(tag, attrs, parent) {
  var e = document.createElementNS(SVGNS, tag);
  for (var k in attrs) e.setAttribute(k, String(attrs[k]));
  if (parent) parent.appendChild(e);
  return e;
}
function now() { return Date.now() + offset; }
function duration(ms) {
  if (ms < 0) ms = 0;
  var s = Math.floor(ms / 1000);
  if (s < 60) return s + 's';
  var m = Math.floor(s / 60);
  if (m < 60) return m + 'm ' + (s % 60) + 's';
  var h = Math.floor(m / 60);
  if (h < 48) return h + 'h ' + (m % 60) + 'm';
  return Math.floor(h / 24) + 'd';
}
function ms(v) {
  if (v === null || v === undefined) return '\\u2013';
  if (v >= 1000) return (v / 1000).toFixed(v >= 10000 ? 0 : 1) + ' s';
  return (v >= 10 ? Math.round(v) : v.toFixed(1)) + ' ms';
}
function rate(v) {
  if (v === null || v === undefined) return '\\u2013';
  return (v >= 100 ? Math.round(v) : v >= 10 ? v.toFixed(1) : v.toFixed(2).replace(/\\.?0+$/, '')) + '/s';
}
function pct(v) { return v === null || v === undefined ? '\\u2013' : (v * 100).toFixed(1) + '%'; }
function count(v) { return String(v); }
function span(v) {
  if (v === null) return 'none';
  return v % 60000 === 0 ? v / 60000 + ' min' : v % 1000 === 0 ? v / 1000 + ' s' : v + ' ms';
}

function metric(parent, key) {
  var m = el('div', 'metric', parent);
  var v = el('div', 'v', m);
  el('div', 'k', m).textContent = key;
  return v;
}

function makeCard(name) {
  var c = el('section', 'card');
  c.setAttribute('data-executor', name);
  var head = el('div', 'head', c);
  var n = el('div', 'name', head);
  n.textContent = name;
  var badge = el('span', 'badge', head);
  var sub = el('div', 'sub', c);
  var since = el('span', 'since', sub);
  var countdown = el('span', 'countdown', sub);
  var metrics = el('div', 'metrics', c);
  var refs = {
    root: c, badge: badge, since: since, countdown: countdown,
    req: metric(metrics, 'requests'), fail: metric(metrics, 'failures'),
    rej: metric(metrics, 'rejected'), total: metric(metrics, 'total calls'),
    ok: metric(metrics, 'success, 1 min'), cache: metric(metrics, 'cached, 1 min'),
    mean: metric(metrics, 'mean, 1 min'), p95: metric(metrics, 'p95, 1 min')
  };
  var l1 = el('div', 'label', c);
  el('span', '', l1).textContent = 'state, last 15 min';
  el('span', '', l1).textContent = 'now';
  refs.strip = svgEl('svg', { 'class': 'strip', viewBox: '0 0 900 12', preserveAspectRatio: 'none', role: 'img' }, c);
  var l2 = el('div', 'label', c);
  var sparkLabel = el('span', '', l2);
  sparkLabel.textContent = 'requests/s (blue), failures/s (red), last 5 min';
  refs.sparkMax = el('span', '', l2);
  refs.spark = svgEl('svg', { 'class': 'spark', viewBox: '0 0 300 44', preserveAspectRatio: 'none', role: 'img' }, c);
  refs.error = el('div', 'error', c);
  refs.config = el('div', 'config', c);
  if (token) {
    var controls = el('div', 'controls', c);
    ['open', 'close', 'reset'].forEach(function (action) {
      var b = el('button', '', controls);
      b.type = 'button';
      b.textContent = action;
      b.setAttribute('data-action', action);
      b.addEventListener('click', function () { control(action, name); });
    });
  }
  grid.appendChild(c);
  return refs;
}

function control(action, name) {
  var url = base + 'control?action=' + encodeURIComponent(action) + '&executor=' + encodeURIComponent(name);
  fetch(url, { method: 'POST', headers: { 'x-dashboard-token': token }, credentials: 'same-origin' })
    .then(function (r) {
      logLine.textContent = r.ok ? action + ' ' + name + ': done' : action + ' ' + name + ': refused (' + r.status + ')';
    })
    .catch(function () { logLine.textContent = action + ' ' + name + ': no answer'; });
}

function drawStrip(svg, transitions, t) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  var start = t - data.spans.strip;
  for (var i = 0; i < transitions.length; i++) {
    var from = transitions[i][0] === null ? start : Math.max(start, transitions[i][0]);
    var to = i + 1 < transitions.length ? transitions[i + 1][0] : t;
    if (to <= start || to <= from) continue;
    var x = ((from - start) / data.spans.strip) * 900;
    var w = ((to - from) / data.spans.strip) * 900;
    svgEl('rect', { x: x.toFixed(2), y: 0, width: Math.max(w, 1.5).toFixed(2), height: 12, 'class': 's-' + transitions[i][1] }, svg);
  }
}

function drawSpark(refs, samples, t) {
  var svg = refs.spark;
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  var start = t - data.spans.sparkline;
  // Per-interval counts jitter (a call lands in one second or the next): sum them in 5 s buckets.
  var size = Math.max(5000, data.interval);
  var buckets = [];
  var lastEnd = null;
  samples.forEach(function (s) {
    if (s[0] <= start || s[1] <= 0) return;
    // A sample that does not start where the last one ended: nobody watched in between.
    var gap = lastEnd !== null && s[0] - s[1] - lastEnd > data.interval;
    lastEnd = s[0];
    var key = Math.floor(s[0] / size);
    var b = buckets.length ? buckets[buckets.length - 1] : null;
    if (!b || b.key !== key || gap) buckets.push(b = { key: key, gap: gap, end: 0, ms: 0, req: 0, fail: 0 });
    b.end = s[0];
    b.ms += s[1];
    b.req += s[2];
    b.fail += s[4];
  });
  var max = 0;
  buckets.forEach(function (b) {
    b.r = (b.req * 1000) / b.ms;
    b.f = (b.fail * 1000) / b.ms;
    if (b.r > max) max = b.r;
  });
  refs.sparkMax.textContent = 'max ' + rate(max);
  if (max === 0) max = 1;
  var req = [], fail = [];
  function flush() {
    if (req.length > 1) {
      svgEl('polyline', { 'class': 'req', points: req.join(' '), 'vector-effect': 'non-scaling-stroke' }, svg);
      svgEl('polyline', { 'class': 'fail', points: fail.join(' '), 'vector-effect': 'non-scaling-stroke' }, svg);
    }
    req = []; fail = [];
  }
  buckets.forEach(function (b) {
    if (b.gap) flush();
    var x = (((b.end - start) / data.spans.sparkline) * 300).toFixed(1);
    req.push(x + ',' + (42 - (b.r / max) * 40).toFixed(1));
    fail.push(x + ',' + (42 - (b.f / max) * 40).toFixed(1));
  });
  flush();
}

function configText(c) {
  if (!c) return '';
  return 'opens after ' + c.failureThreshold + ' failures in ' + span(c.failureWindow) +
    ' \\u00b7 probes after ' + span(c.resetTimeout) +
    ' \\u00b7 closes after ' + c.successThreshold + ' good probes' +
    ' \\u00b7 timeout ' + span(c.requestTimeout) +
    ' \\u00b7 cache ' + (c.cacheFallback ? 'on (' + span(c.fallbackMaxAge) + ', ' + c.fallbackMaxEntries + ' entries)' : 'off');
}

function countdownText(x, t) {
  if (x.state === 'OPEN') {
    if (x.nextAttemptTime === null) return 'held open by hand';
    var left = x.nextAttemptTime - t;
    return left > 0 ? 'next probe in ' + (left / 1000).toFixed(1) + ' s' : 'probe due';
  }
  if (x.state === 'HALF_OPEN') {
    var need = x.config ? x.config.successThreshold : 0;
    return 'probing: ' + x.totals.consecutiveSuccesses + ' of ' + need + ' succeeded';
  }
  return x.totals.consecutiveFailures > 0 ? x.totals.consecutiveFailures + ' failures in a row' : '';
}

function renderCard(x, t) {
  var refs = cards.get(x.name);
  if (!refs) { refs = makeCard(x.name); cards.set(x.name, refs); }
  refs.root.className = 'card ' + x.state;
  refs.root.setAttribute('data-state', x.state);
  refs.badge.textContent = LABEL[x.state] || x.state;
  refs.since.textContent = x.since === null ? 'never changed state' : LABEL[x.state] + ' for ' + duration(t - x.since);
  refs.countdown.textContent = countdownText(x, t);
  refs.req.textContent = x.rates ? rate(x.rates.requests) : count(x.totals.requests);
  refs.fail.textContent = x.rates ? rate(x.rates.failures) : count(x.totals.failures);
  refs.ok.textContent = pct(x.lastMinute.successRate);
  refs.rej.textContent = x.rates ? rate(x.rates.rejections) : count(x.totals.rejections);
  refs.cache.textContent = count(x.lastMinute.fallbacks);
  refs.mean.textContent = ms(x.latency.mean);
  refs.p95.textContent = ms(x.latency.p95);
  refs.total.textContent = count(x.totals.requests);
  drawStrip(refs.strip, x.transitions, t);
  drawSpark(refs, x.samples, t);
  refs.error.textContent = x.lastError ? 'last error ' + duration(t - x.lastError.time) + ' ago: ' + x.lastError.text : '';
  refs.config.textContent = configText(x.config);
}

function render() {
  if (!data) return;
  var t = now();
  var open = 0, half = 0;
  var names = new Set(data.executors.map(function (x) { return x.name; }));
  cards.forEach(function (refs, name) {
    if (!names.has(name)) { grid.removeChild(refs.root); cards.delete(name); }
  });
  data.executors.forEach(function (x) {
    if (x.state === 'OPEN') open++;
    if (x.state === 'HALF_OPEN') half++;
    renderCard(x, t);
  });
  summary.textContent = data.executors.length + ' executors \\u00b7 ' + open + ' open \\u00b7 ' + half + ' half-open';
  document.title = (open ? '(' + open + ' open) ' : '') + document.body.getAttribute('data-title');
  if (data.executors.length === 0) {
    if (!grid.firstChild) el('div', 'empty', grid).textContent = 'No executor yet: the first execute() or configure() creates one.';
  } else {
    var empty = grid.querySelector('.empty');
    if (empty) grid.removeChild(empty);
  }
}

function tickCountdowns() {
  if (!data) return;
  var t = now();
  data.executors.forEach(function (x) {
    var refs = cards.get(x.name);
    if (refs) refs.countdown.textContent = countdownText(x, t);
  });
}

function apply(msg, whole) {
  offset = msg.now - Date.now();
  if (whole || !data) {
    data = msg;
  } else {
    var known = new Map();
    data.executors.forEach(function (x) { known.set(x.name, x); });
    msg.executors.forEach(function (x) {
      var old = known.get(x.name);
      if (old) {
        var last = old.samples.length ? old.samples[old.samples.length - 1][0] : -Infinity;
        var cut = msg.now - msg.spans.sparkline;
        x.samples = old.samples.concat(x.samples.filter(function (s) { return s[0] > last; }))
          .filter(function (s) { return s[0] > cut; });
      }
    });
    data = msg;
  }
  render();
}

var source = new EventSource(base + 'events');
source.addEventListener('snapshot', function (e) { apply(JSON.parse(e.data), true); });
source.addEventListener('update', function (e) { apply(JSON.parse(e.data), false); });
source.addEventListener('open', function () { conn.className = 'conn live'; conn.textContent = 'live'; });
source.addEventListener('error', function () { conn.className = 'conn down'; conn.textContent = 'reconnecting'; });
setInterval(tickCountdowns, 100);
})();
`;

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The page's Content-Security-Policy: its own script and style, and requests to its own origin only. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page; `token` is the controls' token, given only to a viewer allowed to use them. */
export function page(title: string, token: string | null): string {
  const t = escapeHtml(title);
  const meta = token === null ? '' : `\n<meta name="dashboard-token" content="${escapeHtml(token)}">`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">${meta}
<title>${t}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body data-title="${t}">
<header><h1>${t}</h1><span class="summary" id="summary">connecting\u2026</span><span class="conn" id="conn">connecting</span></header>
<div id="log" role="status"></div>
<main id="cards"></main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
