// API keys (admin key only): create one (its secret shown once), list them,
// revoke one.

import { h, errorBox, time, tableWrap, confirm, copyButton, fill } from '../dom.js';
import { request, paths, ApiError, plainWords } from '../api.js';

export async function render(ctx) {
  if (!ctx.session.admin) {
    fill(ctx.main, h('h1', {}, 'API keys'), errorBox('Only the admin key manages API keys.'));
    return;
  }
  const v = {
    ctx,
    alert: h('div', { class: 'alert-slot', tabindex: '-1' }),
    created: h('div', { class: 'created-slot', 'aria-live': 'polite' }),
    list: h('section', { class: 'section', 'aria-labelledby': 'keys-list-title' }),
  };
  fill(ctx.main, h('h1', {}, 'API keys'),
    h('p', { class: 'lead' }, 'Keys for projects: read keys look, write keys also change streams and send events. Only the admin key manages keys.'),
    v.created, createForm(v), v.list);
  await load(v);
}

function createForm(v) {
  const form = h('form', { id: 'key-form', class: 'card form', novalidate: true, 'aria-labelledby': 'key-form-title' });
  const name = h('input', { id: 'key-name', name: 'name', type: 'text', autocomplete: 'off', 'aria-describedby': 'key-name-help', 'aria-required': 'true' });
  const projects = h('input', { id: 'key-projects', name: 'projects', type: 'text', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'key-projects-help', 'aria-required': 'true' });
  const access = h('select', { id: 'key-access', name: 'access' },
    h('option', { value: 'read' }, 'read — look only'),
    h('option', { value: 'write', selected: true }, 'write — change streams, send events'));
  const create = h('button', { type: 'submit', class: 'btn btn-primary', 'data-test': 'key-create' }, 'Create key');
  const fields = {
    name: name, projects, access,
  };
  form.append(h('h2', { id: 'key-form-title' }, 'Create a key'), v.alert,
    h('div', { class: 'field' }, h('label', { for: 'key-name' }, 'Name', h('span', { class: 'req' }, ' (required)')), name,
      h('p', { id: 'key-name-help', class: 'help' }, 'For people, such as “ci-ingest”.')),
    h('div', { class: 'field' }, h('label', { for: 'key-projects' }, 'Projects', h('span', { class: 'req' }, ' (required)')), projects,
      h('p', { id: 'key-projects-help', class: 'help' }, 'Project ids separated by commas or spaces, or * alone for every project.')),
    h('div', { class: 'field' }, h('label', { for: 'key-access' }, 'Access'), access),
    h('div', { class: 'actions' }, create));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    fill(v.alert);
    for (const el of form.querySelectorAll('[data-test=field-error]')) el.remove();
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    const body = {
      name: name.value.trim(),
      projects: projects.value.split(/[\s,]+/).filter(Boolean),
      access: access.value,
    };
    create.disabled = true;
    try {
      const { data } = await request('POST', paths.keys(), { body });
      form.reset();
      showSecret(v, data);
      await load(v);
    } catch (err) {
      const field = err instanceof ApiError && err.field ? err.field.split(/[.[]/)[0] : '';
      const target = fields[field];
      if (target) {
        const errId = target.id + '-error';
        target.setAttribute('aria-invalid', 'true');
        target.setAttribute('aria-describedby', `${errId} ${target.id}-help`.trim());
        target.insertAdjacentElement('afterend', h('p', { id: errId, class: 'field-error', 'data-test': 'field-error', 'data-field': field }, err.message));
        target.focus();
      }
      fill(v.alert, errorBox(plainWords(err)));
      if (!target) v.alert.focus();
    } finally {
      create.disabled = false;
    }
  });
  return form;
}

function showSecret(v, data) {
  const secret = data.secret;
  fill(v.created, h('div', { class: 'alert alert-ok secret-once', role: 'status' },
    h('p', {}, h('strong', {}, `Key “${data.key.name}” created.`), ' Copy its secret now: it is shown only this once and cannot be read again.'),
    h('p', {}, h('code', { class: 'secret', 'data-test': 'key-secret' }, secret), ' ', copyButton(() => secret, 'Copy secret')),
    h('button', { type: 'button', class: 'btn btn-small btn-quiet', on: { click: () => fill(v.created) } }, 'I have stored it — hide')));
}

async function load(v) {
  const title = h('h2', { id: 'keys-list-title' }, 'Keys');
  try {
    const { data } = await request('GET', paths.keys(), { signal: v.ctx.signal });
    const list = (data.data || []).slice().sort((a, b) => (a.revoked_at ? 1 : 0) - (b.revoked_at ? 1 : 0) || String(b.created_at).localeCompare(String(a.created_at)));
    if (!list.length) {
      fill(v.list, title, h('p', { class: 'empty' }, 'No keys yet besides the admin key.'));
      return;
    }
    const rows = list.map((k) => {
      const revoke = k.revoked_at || k.admin ? null : h('button', { type: 'button', class: 'btn btn-small btn-danger', 'data-test': 'key-revoke', 'data-key-id': k.id });
      if (revoke) {
        revoke.textContent = 'Revoke';
        revoke.addEventListener('click', () => revokeKey(v, k));
      }
      return h('tr', { 'data-test': 'key-row', 'data-key-id': k.id, 'data-revoked': k.revoked_at ? 'true' : 'false' },
        h('th', { scope: 'row' }, k.name, h('div', { class: 'mono small muted' }, k.id)),
        h('td', {}, k.access + (k.admin ? ' (admin)' : '')),
        h('td', { class: 'wrap' }, (k.projects || []).map((p) => (p === '*' ? 'all projects' : p)).join(', ')),
        h('td', { class: 'mono' }, k.last_four ? '…' + k.last_four : ''),
        h('td', {}, time(k.created_at)),
        h('td', {}, k.revoked_at ? [h('span', { class: 'badge badge-revoked' }, 'revoked'), ' ', time(k.revoked_at)] : h('span', { class: 'badge badge-active' }, 'active')),
        h('td', {}, revoke));
    });
    fill(v.list, title, tableWrap(h('table', { class: 'table' },
      h('caption', { class: 'visually-hidden' }, 'API keys'),
      h('thead', {}, h('tr', {}, ['Name', 'Access', 'Projects', 'Secret ends', 'Created', 'State', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)), 'API keys'));
  } catch (err) {
    if (err && err.name === 'AbortError') return;
    fill(v.list, title, errorBox(plainWords(err)));
  }
}

async function revokeKey(v, k) {
  const yes = await confirm('Revoke this key?', `“${k.name}” (${k.id}) stops working within 30 seconds, everywhere it is used. This cannot be undone.`, 'Revoke key');
  if (!yes) return;
  try {
    await request('DELETE', paths.key(k.id));
    await load(v);
  } catch (err) {
    fill(v.alert, errorBox(plainWords(err)));
    v.alert.focus();
  }
}
