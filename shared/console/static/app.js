// logstream console: the router and the session. Hash routes keep the whole
// console one page (/console/), so the function serves a single document.

import { h, errorBox, setBusy, fill } from './dom.js';
import { request, paths, getKey, clearKey, onUnauthenticated, plainWords, ApiError } from './api.js';
import * as signin from './views/signin.js';
import * as projects from './views/projects.js';
import * as streams from './views/streams.js';
import * as streamForm from './views/streamform.js';
import * as stream from './views/stream.js';
import * as deadLetters from './views/deadletters.js';
import * as replays from './views/replays.js';
import * as keys from './views/keys.js';

const ROUTES = [
  [/^\/signin$/, signin, () => ({})],
  [/^\/projects$/, projects, () => ({})],
  [/^\/keys$/, keys, () => ({})],
  [/^\/p\/([^/]+)$/, streams, (m) => ({ project: m[1] })],
  [/^\/p\/([^/]+)\/new$/, streamForm, (m) => ({ project: m[1] })],
  [/^\/p\/([^/]+)\/dead-letters$/, deadLetters, (m) => ({ project: m[1] })],
  [/^\/p\/([^/]+)\/replays$/, replays, (m) => ({ project: m[1] })],
  [/^\/p\/([^/]+)\/s\/([^/]+)\/edit$/, streamForm, (m) => ({ project: m[1], stream: m[2] })],
  [/^\/p\/([^/]+)\/s\/([^/]+)$/, stream, (m) => ({ project: m[1], stream: m[2] })],
];

// session is what /v1/whoami said of the key, or null when signed out.
const state = { session: null, cleanups: [], controller: null, flash: null };

export function session() {
  return state.session;
}

// canWrite: write controls are rendered only for a key that may write
// (issue 17: a read key sees none, not disabled ones).
export function canWrite() {
  return !!state.session && (state.session.admin || state.session.access === 'write');
}

// flash carries one message to the next view (a save, a deletion).
export function setFlash(msg) {
  state.flash = msg;
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

export function href(...parts) {
  return '#/' + parts.map((p) => encodeURIComponent(p)).join('/');
}

export async function signIn(whoami) {
  state.session = whoami;
  renderChrome();
}

export function signOut(message) {
  clearKey();
  state.session = null;
  state.flash = message ? { kind: 'error', text: message } : null;
  renderChrome();
  navigate('#/signin');
}

function describe(w) {
  if (w.admin) return 'admin · all projects';
  const projs = (w.projects || []).includes('*') ? 'all projects' : (w.projects || []).join(', ');
  return `${w.access} · ${projs}`;
}

function renderChrome() {
  const nav = document.getElementById('nav');
  const sess = document.getElementById('session');
  const w = state.session;
  if (!w) {
    fill(nav);
    fill(sess);
    return;
  }
  fill(nav, h('ul', { class: 'nav-list' },
    h('li', {}, h('a', { href: '#/projects', 'data-nav': 'projects' }, 'Projects')),
    w.admin ? h('li', {}, h('a', { href: '#/keys', 'data-test': 'nav-keys', 'data-nav': 'keys' }, 'API keys')) : null));
  fill(sess,
    h('span', { class: 'whoami', 'data-test': 'whoami', title: w.name ? `Key “${w.name}”${w.last_four ? ' …' + w.last_four : ''}` : '' }, describe(w)),
    h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'data-test': 'signout', on: { click: () => signOut() } }, 'Sign out'));
}

function markCurrentNav(path) {
  for (const a of document.querySelectorAll('#nav a')) {
    const current = (a.dataset.nav === 'keys' && path === '/keys') || (a.dataset.nav === 'projects' && path !== '/keys');
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function route() {
  const main = document.getElementById('main');
  for (const fn of state.cleanups.splice(0)) {
    try { fn(); } catch { /* a view's cleanup must not stop the next view */ }
  }
  if (state.controller) state.controller.abort();
  state.controller = new AbortController();
  const signal = state.controller.signal;

  const path = location.hash.replace(/^#/, '') || '/';
  if (!getKey()) {
    state.session = null;
    renderChrome();
    if (path !== '/signin') { location.replace('#/signin'); return; }
  } else if (!state.session) {
    setBusy(main, true);
    try {
      const { data } = await request('GET', paths.whoami(), { signal });
      state.session = data;
      renderChrome();
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && err.code === 'unauthenticated') { signOut(plainWords(err)); return; }
      setBusy(main, false);
      fill(main, h('h1', { tabindex: '-1' }, 'logstream console'), errorBox(plainWords(err)),
        h('p', {}, h('button', { type: 'button', class: 'btn', on: { click: route } }, 'Try again')));
      return;
    }
  }
  if (path === '/' || (path === '/signin' && state.session)) {
    location.replace('#/projects');
    return;
  }
  const found = ROUTES.map(([re, view, params]) => [path.match(re), view, params]).find(([m]) => m);
  markCurrentNav(path);
  const flash = state.flash;
  state.flash = null;
  if (!found) {
    fill(main, h('h1', { tabindex: '-1' }, 'Page not found'), h('p', {}, h('a', { href: '#/projects' }, 'Go to your projects')));
    setBusy(main, false);
    return;
  }
  const [m, view, params] = found;
  const p = params(m.map((x) => { try { return decodeURIComponent(x); } catch { return x; } }));
  setBusy(main, true);
  // Each visit renders into its own container: a view still finishing for
  // the page just left writes into a detached one, never over this page.
  const page = h('div', { class: 'page' }, h('p', { class: 'muted loading' }, 'Loading…'));
  fill(main, page);
  const ctx = {
    main: page, params: p, signal, flash,
    setBusy: (busy) => setBusy(main, busy),
    session: state.session,
    canWrite: canWrite(),
    onCleanup: (fn) => state.cleanups.push(fn),
  };
  try {
    await view.render(ctx);
  } catch (err) {
    if (signal.aborted || (err && err.name === 'AbortError')) return;
    fill(page, h('h1', { tabindex: '-1' }, 'Something went wrong'), errorBox(plainWords(err)),
      h('p', {}, h('button', { type: 'button', class: 'btn', on: { click: route } }, 'Try again')));
  }
  if (signal.aborted) return;
  setBusy(main, false);
  const h1 = main.querySelector('h1');
  document.title = (h1 ? h1.textContent + ' — ' : '') + 'logstream console';
  // Move focus to the new page's heading, so keyboard and screen-reader
  // users start at the top of what changed (not on the initial load, and
  // not when the view put it somewhere itself, as sign-in does).
  if (h1 && state.routed && !main.contains(document.activeElement)) {
    if (!h1.hasAttribute('tabindex')) h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: false });
  }
  state.routed = true;
}

onUnauthenticated((err) => signOut(plainWords(err)));
window.addEventListener('hashchange', route);
route();
