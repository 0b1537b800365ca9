// DOM helpers. Every node is built with createElement and every text set with
// textContent: stream names, error messages and dead events are user data and
// must never become markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

// h builds an element. attrs: text, on:{event: fn}, and attributes by name
// (class, data-*, aria-*, …); true is a boolean attribute (disabled, checked,
// selected, open: as attributes they are also the defaults a form reset
// returns to), false, null and undefined leave it out. Children are
// nodes, strings (as text), or nested arrays; null and false are skipped.
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

// s builds an SVG element; presentation attributes (fill, stroke) only.
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else el.setAttribute(k === 'className' ? 'class' : k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

// fill replaces an element's children as h() appends them: null and false
// skipped, arrays flattened, strings as text. (replaceChildren itself would
// write "null".)
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Number formatting, in the reader's locale.
const nf = new Intl.NumberFormat();
export function num(n) {
  return n === null || n === undefined ? '—' : nf.format(n);
}

// count writes a number with its noun, singular or plural.
export function count(n, one, many) {
  return `${num(n)} ${n === 1 ? one : many || one + 's'}`;
}

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(v < 10 ? 1 : 0)) + ' ' + units[i];
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return seconds + ' s';
  if (seconds < 3600) return Math.round(seconds / 60) + ' min';
  return (seconds / 3600).toFixed(1) + ' h';
}

export function ms(v) {
  if (v === null || v === undefined) return '—';
  if (v < 1000) return v + ' ms';
  return (v / 1000).toFixed(v < 10000 ? 2 : 1) + ' s';
}

// Times are shown in UTC, as the API and the logs carry them.
export function utc(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().replace('T', ' ').replace(/:\d\d\.\d+Z$|:\d\dZ$/, '') + ' UTC';
}

// ago says how long ago, for a quick read beside the exact time.
export function ago(iso, now = Date.now()) {
  if (!iso) return '';
  const sec = Math.round((now - new Date(iso).getTime()) / 1000);
  if (Number.isNaN(sec)) return '';
  const abs = Math.abs(sec);
  const unit = abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.round(abs / 60), 'min'] : abs < 86400 ? [Math.round(abs / 3600), 'h'] : [Math.round(abs / 86400), 'd'];
  return sec >= 0 ? `${unit[0]} ${unit[1]} ago` : `in ${unit[0]} ${unit[1]}`;
}

// time renders a <time> with the UTC text and a relative hint.
export function time(iso) {
  if (!iso) return h('span', { class: 'muted', text: 'never' });
  return h('time', { datetime: iso, title: ago(iso) }, utc(iso));
}

// tableWrap puts a table in a region that scrolls sideways on narrow
// screens, so the page itself never does. Focusable so keyboard users can
// scroll it; its name says it is the table, so it never repeats the name of
// the section around it.
export function tableWrap(table, label) {
  return h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-label': label + ' (table)' }, table);
}

export function errorBox(text) {
  return h('div', { class: 'alert alert-error', role: 'alert', 'data-test': 'error' }, text);
}

// setBusy marks the main region busy while a view loads.
export function setBusy(el, busy) {
  el.setAttribute('aria-busy', busy ? 'true' : 'false');
}

// confirm asks in the page's own <dialog> and resolves true or false.
export function confirm(title, text, yesLabel = 'Confirm') {
  const dialog = document.getElementById('confirm');
  if (dialog.open) return Promise.resolve(false); // one question at a time
  const yes = dialog.querySelector('[data-test=confirm-yes]');
  const no = dialog.querySelector('[data-test=confirm-no]');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  yes.textContent = yesLabel;
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const done = (answer) => {
      yes.removeEventListener('click', onYes);
      no.removeEventListener('click', onNo);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      if (opener && opener.isConnected) opener.focus();
      resolve(answer);
    };
    const onYes = () => done(true);
    const onNo = () => done(false);
    const onCancel = (e) => { e.preventDefault(); done(false); };
    yes.addEventListener('click', onYes);
    no.addEventListener('click', onNo);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    no.focus();
  });
}

// idempotencyKey is a fresh key for one job request, so a retried click
// never starts a second job. getRandomValues works outside secure contexts
// too, unlike randomUUID.
export function idempotencyKey(prefix) {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return prefix + '-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// copyButton copies text to the clipboard and says so.
export function copyButton(getText, label = 'Copy') {
  const btn = h('button', { type: 'button', class: 'btn btn-small' }, label);
  const status = h('span', { class: 'muted copy-status', 'aria-live': 'polite' });
  btn.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(getText());
      status.textContent = 'Copied.';
    } catch {
      status.textContent = 'Copy failed: select the text and copy it by hand.';
    }
  });
  return [btn, status];
}

// statusBadge shows a stream's status in words, with colour as a second cue.
export function statusBadge(status, reason) {
  const text = status === 'suspended' && reason ? `suspended: ${reason}` : status;
  return h('span', { class: `badge badge-${status}`, 'data-test': 'status', 'data-status': status }, text);
}

export function stateBadge(state, attrs = {}) {
  return h('span', Object.assign({ class: `badge badge-state-${state}` }, attrs), state);
}
