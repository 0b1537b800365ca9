// Projects: the key's own, or for a key to every project ("*"), those that
// ever had a stream and a box to open any project by id.

import { h, errorBox, fill } from '../dom.js';
import { request, paths } from '../api.js';
import { navigate, href } from '../app.js';

const PROJECT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export async function render(ctx) {
  const { data } = await request('GET', paths.projects(), { signal: ctx.signal });
  const list = data.data || [];
  // A key to every project ("*") may open any project by id.
  const all = !!data.all_projects || !!ctx.session.admin || (ctx.session.projects || []).includes('*');

  const items = list.length
    ? h('ul', { class: 'project-list' }, list.map((p) => h('li', {},
      h('a', { class: 'project-link', href: href('p', p.project_id), 'data-test': 'project-link', 'data-project-id': p.project_id }, p.project_id))))
    : h('p', { class: 'empty' }, all ? 'No project has had a stream yet. Open one by its id below.' : 'This key has no projects.');

  let open = null;
  if (all) {
    const input = h('input', { id: 'project-id', name: 'project_id', type: 'text', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'project-id-help' });
    const alert = h('div', { class: 'alert-slot' });
    open = h('form', { class: 'card form form-inline', 'data-test': 'open-project', novalidate: true, 'aria-labelledby': 'open-project-title' },
      h('h2', { id: 'open-project-title' }, 'Open a project'),
      alert,
      h('div', { class: 'field' },
        h('label', { for: 'project-id' }, 'Project ID'),
        input,
        h('p', { id: 'project-id-help', class: 'help' }, 'Any project id, such as proj_demo: this key may use every project.')),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Open')));
    open.addEventListener('submit', (e) => {
      e.preventDefault();
      const id = input.value.trim();
      if (!PROJECT_ID.test(id)) {
        fill(alert, errorBox('A project id starts with a letter or digit and has only letters, digits, “.”, “_” and “-” (at most 128).'));
        input.focus();
        return;
      }
      navigate(href('p', id));
    });
  }

  fill(ctx.main, 
    h('h1', {}, 'Projects'),
    h('p', { class: 'lead' }, all ? 'Projects that have had a stream.' : 'The projects this key may use.'),
    h('section', { class: 'card', 'aria-label': 'Your projects' }, items),
    open);
}
