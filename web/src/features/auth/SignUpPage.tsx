import { zodResolver } from '@hookform/resolvers/zod';
import { useQueryClient } from '@tanstack/react-query';
import { useForm } from 'react-hook-form';
import { Link, useNavigate, useSearchParams } from '@/lib/router';
import { z } from 'zod';
import { api, ApiError, data } from '@/api/client';
import { signedInAs } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { Field } from '@/components/ui/Field';
import { ErrorNote, Page } from '@/components/ui/States';
import { useErrorText, useT } from '@/i18n';
import { strings } from './strings';
import { applyFieldErrors, fieldMessage } from '@/lib/forms';

const schema = z.object({
  email: z.email(),
  handle: z.string().regex(/^[A-Za-z0-9_]{3,30}$/),
  password: z.string().min(8).max(200),
  dateOfBirth: z.iso.date(),
  referralCode: z.union([z.literal(''), z.string().regex(/^[A-Za-z0-9]{6,16}$/)]).optional(),
});
type Form = z.infer<typeof schema>;
const CODE_FIELDS = {
  UNDERAGE: 'dateOfBirth',
  EMAIL_TAKEN: 'email',
  HANDLE_TAKEN: 'handle',
  PASSWORD_TOO_LONG: 'password',
  SELF_REFERRAL: 'referralCode',
  REFERRAL_CODE_NOT_FOUND: 'referralCode',
} as const;

export default function SignUpPage() {
  const t = useT(strings);
  const errorText = useErrorText();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const client = useQueryClient();
  const form = useForm<Form>({ resolver: zodResolver(schema), defaultValues: { referralCode: params.get('ref') ?? '' } });
  const { errors, isSubmitting } = form.formState;

  const onSubmit = form.handleSubmit(async (values) => {
    try {
      const { referralCode, ...rest } = values;
      const me = await data(api.POST('/api/v1/auth/signup', { body: { ...rest, ...(referralCode ? { referralCode } : {}) } }));
      await signedInAs(client, me);
      navigate(`/age?next=${encodeURIComponent(params.get('next') ?? '/')}`);
    } catch (error) {
      if (!(error instanceof ApiError) || !applyFieldErrors(error, form.setError, errorText, CODE_FIELDS)) {
        form.setError('root', { message: errorText(error) });
      }
    }
  });

  return (
    <Page title={t('auth.signUpTitle')}>
      <form onSubmit={onSubmit} noValidate className="flex flex-col gap-4">
        <Field label={t('auth.email')} type="email" autoComplete="email" {...form.register('email')} error={fieldMessage(errors.email, t('auth.badEmail'))} />
        <Field label={t('auth.handle')} autoComplete="username" hint={t('auth.handleHint')} {...form.register('handle')} error={fieldMessage(errors.handle, t('auth.badHandle'))} />
        <Field label={t('auth.password')} type="password" autoComplete="new-password" hint={t('auth.passwordHint')} {...form.register('password')} error={fieldMessage(errors.password, t('auth.badPassword'))} />
        <Field label={t('auth.dateOfBirth')} type="date" hint={t('auth.dateOfBirthHint')} {...form.register('dateOfBirth')} error={fieldMessage(errors.dateOfBirth, t('auth.badDate'))} />
        <Field label={t('auth.referralCode')} autoComplete="off" {...form.register('referralCode')} error={fieldMessage(errors.referralCode, t('errors.REFERRAL_CODE_NOT_FOUND'))} />
        {errors.root && <ErrorNote error={new Error(errors.root.message)} />}
        <Button type="submit" disabled={isSubmitting}>
          {t('auth.signUp')}
        </Button>
        <p className="text-sm text-muted">
          {t('auth.haveAccount')}{' '}
          <Link className="text-brand underline" to="/signin">
            {t('auth.signIn')}
          </Link>
        </p>
      </form>
    </Page>
  );
}
