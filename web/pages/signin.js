/*
** pages/signin.js -- #/signin: a cost centre and its token become a session
** (POST /api/signin; the cookie is HttpOnly, the token is never kept by the
** page: the input is emptied as soon as the request is sent).
*/
import * as api from '../api.js';
import { t } from '../i18n.js';
import { el, field, clearErrors, showFieldError, formError, busy } from '../ui.js';

export function render(root, ctx) {
  const cc = el('input', { type: 'text', test: 'signin-cc', autocomplete: 'username', spellcheck: 'false', autocapitalize: 'characters' });
  const token = el('input', { type: 'password', test: 'signin-token', autocomplete: 'current-password', required: true });
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', test: 'signin-submit', text: t('signin.submit') });
  const error = formError('signin-error');
  const form = el('form', { class: 'form signin', test: 'signin-form', novalidate: true },
    field('cc', t('signin.cc'), cc, { hint: t('signin.cc.hint') }),
    field('token', t('signin.token'), token),
    error,
    el('div', { class: 'actions' }, submit));
  root.appendChild(el('div', { class: 'signin-wrap' },
    el('h1', { text: t('signin.title') }),
    el('p', { class: 'lead', text: t('signin.intro') }),
    form));
  cc.focus();

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const tokenText = token.value;
    if (tokenText === '') {
      showFieldError(form, 'token', t('signin.token.empty'));
      return;
    }
    await busy(submit, async () => {
      try {
        token.value = '';
        const session = await api.signIn(cc.value.trim(), tokenText);
        await ctx.signedIn(session);
      } catch (e) {
        const text = e.status === 429 || e.code === 'rate_limited' ? t('signin.rate_limited')
          : e.status === 401 || e.code === 'unauthorized' || e.code === 'unknown_cc' ? t('signin.failed')
            : e.code === 'network' ? t('error.network') : (e.message || t('error.unknown'));
        error.textContent = text;
        token.focus();
      }
    });
  });
}
