// logstream console: the page's entry module. The screens arrive in the
// next commits; until then the page says so instead of spinning.
const main = document.getElementById('main');
const p = document.createElement('p');
p.textContent = 'The logstream console is being built.';
main.replaceChildren(p);
main.setAttribute('aria-busy', 'false');
