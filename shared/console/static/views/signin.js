// Sign-in: the key is checked with /v1/whoami before it is kept, in this
// tab's sessionStorage only.

import { h, errorBox, fill } from '../dom.js';
import { request, paths, setKey, plainWords } from '../api.js';
import { signIn, navigate } from '../app.js';

export async function render(ctx) {
  const alert = h('div', { class: 'alert-slot' });
  if (ctx.flash && ctx.flash.kind === 'error') alert.append(errorBox(ctx.flash.text));
  const input = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'api-key-help' });
  const button = h('button', { type: 'submit', class: 'btn btn-primary', 'data-test': 'signin' }, 'Sign in');
  const form = h('form', { id: 'signin', class: 'card form signin-card', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'api-key' }, 'API key'),
      input,
      h('p', { id: 'api-key-help', class: 'help' },
        'An API key of this deployment (lsk_…), or its admin key. It is kept in this browser tab only and forgotten when you sign out or close the tab.')),
    h('div', { class: 'actions' }, button));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    fill(alert);
    if (!key) {
      alert.append(errorBox('Enter an API key.'));
      input.focus();
      return;
    }
    button.disabled = true;
    button.textContent = 'Signing in…';
    try {
      const { data } = await request('GET', paths.whoami(), { key });
      setKey(key);
      input.value = '';
      await signIn(data);
      navigate('#/projects');
    } catch (err) {
      fill(alert, errorBox(plainWords(err)));
      input.focus();
      input.select();
    } finally {
      button.disabled = false;
      button.textContent = 'Sign in';
    }
  });

  fill(ctx.main, 
    h('div', { class: 'signin' },
      h('h1', {}, 'Sign in to logstream'),
      h('p', { class: 'lead' }, 'Watch your log streams, their health and dead letters, and replay past events.'),
      alert,
      form));
  input.focus();
}
