import { zodResolver } from '@hookform/resolvers/zod';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { Link, useNavigate, useSearchParams } from '@/lib/router';
import { z } from 'zod';
import { api, data } from '@/api/client';
import { signedInAs } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { Field } from '@/components/ui/Field';
import { ErrorNote, Page } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from './strings';
import { fieldMessage } from '@/lib/forms';

const credentials = z.object({ email: z.email(), password: z.string().min(1) });
const second = z.object({ code: z.string().regex(/^[0-9A-Za-z -]{6,20}$/) });

/** Sign-in in two steps when the account has 2FA: password, then the authenticator's code. */
export default function SignInPage() {
  const t = useT(strings);
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const client = useQueryClient();
  const [challenge, setChallenge] = useState<string | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const first = useForm<z.infer<typeof credentials>>({ resolver: zodResolver(credentials) });
  const step2 = useForm<z.infer<typeof second>>({ resolver: zodResolver(second) });
  const next = params.get('next') ?? '/';

  const done = async (me: Parameters<typeof signedInAs>[1]) => {
    await signedInAs(client, me);
    navigate(next.startsWith('/') ? next : '/');
  };

  const onCredentials = first.handleSubmit(async (values) => {
    setFailure(null);
    try {
      const result = await data(api.POST('/api/v1/auth/login', { body: values }));
      if (result.twoFactorRequired && result.challenge) setChallenge(result.challenge);
      else await done(result.user ?? null);
    } catch (error) {
      setFailure(error);
    }
  });

  const onCode = step2.handleSubmit(async ({ code }) => {
    setFailure(null);
    try {
      const result = await data(api.POST('/api/v1/auth/login/2fa', { body: { challenge: challenge!, code } }));
      await done(result.user ?? null);
    } catch (error) {
      setFailure(error);
    }
  });

  if (challenge) {
    return (
      <Page title={t('auth.twoFactorTitle')}>
        <form onSubmit={onCode} noValidate className="flex flex-col gap-4" aria-label={t('auth.twoFactorTitle')}>
          <p className="text-muted">{t('auth.twoFactorBody')}</p>
          <Field
            label={t('auth.code')}
            inputMode="numeric"
            autoComplete="one-time-code"
            autoFocus
            {...step2.register('code')}
            error={fieldMessage(step2.formState.errors.code, t('auth.badCode'))}
          />
          <ErrorNote error={failure} />
          <Button type="submit" disabled={step2.formState.isSubmitting}>
            {t('auth.verify')}
          </Button>
          <Button variant="ghost" onClick={() => setChallenge(null)}>
            {t('common.back')}
          </Button>
        </form>
      </Page>
    );
  }

  return (
    <Page title={t('auth.signInTitle')}>
      <form onSubmit={onCredentials} noValidate className="flex flex-col gap-4" aria-label={t('auth.signInTitle')}>
        <Field label={t('auth.email')} type="email" autoComplete="username" {...first.register('email')} error={fieldMessage(first.formState.errors.email, t('auth.badEmail'))} />
        <Field label={t('auth.password')} type="password" autoComplete="current-password" {...first.register('password')} error={fieldMessage(first.formState.errors.password, t('auth.required'))} />
        <ErrorNote error={failure} />
        <Button type="submit" disabled={first.formState.isSubmitting}>
          {t('auth.signIn')}
        </Button>
        <p className="text-sm text-muted">
          {t('auth.noAccount')}{' '}
          <Link className="text-brand underline" to={`/signup?next=${encodeURIComponent(next)}`}>
            {t('auth.signUp')}
          </Link>
        </p>
      </form>
    </Page>
  );
}
