import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import QRCode from 'qrcode';
import { lazy, Suspense, useEffect, useState, type FormEvent } from 'react';
import { Navigate } from '@/lib/router';
import { api, ApiError, data } from '@/api/client';
import { useSignedIn } from '@/api/queries';
import { keys } from '@/api/keys';
import { Button } from '@/components/ui/Button';
import { Field } from '@/components/ui/Field';
import { ErrorNote, Loading } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings as auth } from '@/features/auth/strings';
import { strings } from './strings';
import { useStore } from '@/store';

// Profile, email, 2FA off, reports and appeals, erasure: after the first paint.
const AccountExtras = lazy(() => import('./AccountExtras'));

const card = 'flex flex-col gap-3 rounded-xl border border-line bg-panel p-4';

/** When the API asks for a recent password confirmation (403 REAUTH_REQUIRED): the password
 * (and a code with 2FA on) here, then the action again. */
function useReauth() {
  const [pending, setPending] = useState<(() => void) | null>(null);
  const guard = (error: unknown, retry: () => void) => {
    if (error instanceof ApiError && error.code === 'REAUTH_REQUIRED') setPending(() => retry);
  };
  const prompt = pending ? <ReauthPrompt onDone={() => { const r = pending; setPending(null); r(); }} /> : null;
  return { guard, prompt };
}

function ReauthPrompt({ onDone }: { onDone: () => void }) {
  const t = useT(strings, auth);
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const confirm = useMutation({
    mutationFn: () => data(api.POST('/api/v1/auth/reauth', { body: { password, code: code || null } })),
    onSuccess: onDone,
  });
  return (
    <form
      className="flex flex-col gap-2 rounded-lg border border-warn/50 bg-warn/10 p-3"
      onSubmit={(e) => {
        e.preventDefault();
        confirm.mutate();
      }}
    >
      <p className="text-sm">{t('account.reauth')}</p>
      <Field label={t('auth.password')} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
      <Field label={t('account.codeIfOn')} inputMode="numeric" autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} />
      <ErrorNote error={confirm.error} />
      <Button type="submit" disabled={confirm.isPending}>{t('account.confirm')}</Button>
    </form>
  );
}

function TwoFactor() {
  const t = useT(strings, auth);
  const me = useStore((s) => s.me)!;
  const client = useQueryClient();
  const { guard, prompt } = useReauth();
  const [enrol, setEnrol] = useState<{ secret: string; uri: string; qr: string } | null>(null);
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const start = useMutation({
    mutationFn: () => data(api.POST('/api/v1/auth/2fa/enroll')),
    onSuccess: async (e) => setEnrol({ secret: e.secret, uri: e.provisioningUri, qr: await QRCode.toDataURL(e.provisioningUri, { margin: 1, width: 200 }) }),
    onError: (e) => guard(e, () => start.mutate()),
  });
  const verify = useMutation({
    mutationFn: () => data(api.POST('/api/v1/auth/2fa/verify', { body: { code } })),
    onSuccess: async (r) => {
      setCodes(r.recoveryCodes);
      setEnrol(null);
      setCode('');
      await client.invalidateQueries({ queryKey: keys.me });
    },
  });
  const fresh = useMutation({
    mutationFn: () => data(api.POST('/api/v1/auth/2fa/recovery-codes')),
    onSuccess: (r) => setCodes(r.recoveryCodes),
    onError: (e) => guard(e, () => fresh.mutate()),
  });
  return (
    <section className={card} aria-labelledby="tfa-title">
      <h2 id="tfa-title" className="font-semibold">{t('account.twoFactor')}</h2>
      <p className="text-sm" data-testid="tfa-state">{me.twoFactorEnabled ? t('account.tfaOn') : t('account.tfaOff')}</p>
      {!me.twoFactorEnabled && !enrol && <Button onClick={() => start.mutate()} disabled={start.isPending}>{t('account.tfaTurnOn')}</Button>}
      {enrol && (
        <form
          className="flex flex-col gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            verify.mutate();
          }}
        >
          <p className="text-sm">{t('account.tfaScan')}</p>
          <img src={enrol.qr} alt={t('account.tfaQr')} width={200} height={200} className="rounded bg-white" />
          <p className="break-all font-mono text-sm" data-testid="totp-secret">{enrol.secret}</p>
          <Field label={t('auth.code')} inputMode="numeric" autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} />
          <ErrorNote error={verify.error} />
          <Button type="submit" disabled={verify.isPending}>{t('auth.verify')}</Button>
        </form>
      )}
      {me.twoFactorEnabled && <Button variant="secondary" onClick={() => fresh.mutate()} disabled={fresh.isPending}>{t('account.newCodes')}</Button>}
      {codes && (
        <div className="flex flex-col gap-1">
          <p className="text-sm text-warn">{t('account.codesOnce')}</p>
          <ul className="grid grid-cols-2 gap-1 font-mono text-sm" data-testid="recovery-codes">
            {codes.map((c) => (
              <li key={c}>{c}</li>
            ))}
          </ul>
        </div>
      )}
      <ErrorNote error={start.error instanceof ApiError && start.error.code === 'REAUTH_REQUIRED' ? null : start.error} />
      {prompt}
    </section>
  );
}

function Sessions() {
  const t = useT(strings, auth);
  const lang = useStore((s) => s.lang);
  const client = useQueryClient();
  const sessions = useQuery({ queryKey: ['account', 'sessions'], queryFn: () => data(api.GET('/api/v1/auth/sessions')) });
  const revoke = useMutation({
    mutationFn: (id: string) => data(api.DELETE('/api/v1/auth/sessions/{session_id}', { params: { path: { session_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ['account', 'sessions'] }),
  });
  return (
    <section className={card} aria-labelledby="sessions-title">
      <h2 id="sessions-title" className="font-semibold">{t('account.sessions')}</h2>
      {sessions.isPending ? (
        <Loading />
      ) : (
        <ul className="flex flex-col gap-2 text-sm" data-testid="sessions">
          {(sessions.data ?? []).map((s) => (
            <li key={s.id} className="flex flex-wrap items-center justify-between gap-2">
              <span className="min-w-0">
                <span className="block truncate">{s.userAgent || '—'}</span>
                <span className="text-xs text-muted">{new Date(s.lastSeenAt ?? s.createdAt).toLocaleString(lang)}{s.current ? ` · ${t('account.thisDevice')}` : ''}</span>
              </span>
              {!s.current && <Button variant="secondary" onClick={() => revoke.mutate(s.id)}>{t('account.revoke')}</Button>}
            </li>
          ))}
        </ul>
      )}
      <ErrorNote error={sessions.error ?? revoke.error} />
    </section>
  );
}

function Export() {
  const t = useT(strings, auth);
  const [id, setId] = useState<string | null>(null);
  const start = useMutation({ mutationFn: () => data(api.POST('/api/v1/me/export')), onSuccess: (e) => setId(e.id) });
  const status = useQuery({
    queryKey: ['account', 'export', id],
    enabled: Boolean(id),
    queryFn: () => data(api.GET('/api/v1/me/exports/{export_id}', { params: { path: { export_id: id! } } })),
    refetchInterval: (q) => (q.state.data && q.state.data.status !== 'pending' && q.state.data.status !== 'running' ? false : 1000),
  });
  const e = status.data;
  return (
    <section className={card} aria-labelledby="export-title">
      <h2 id="export-title" className="font-semibold">{t('account.export')}</h2>
      <p className="text-sm text-muted">{t('account.exportHelp')}</p>
      <Button onClick={() => start.mutate()} disabled={start.isPending || (Boolean(id) && !e?.downloadUrl && e?.status !== 'failed')}>{t('account.exportStart')}</Button>
      {id && !e?.downloadUrl && <Loading label={t('account.exportRunning', { progress: e?.progress ?? 0 })} />}
      {e?.downloadUrl && (
        <a href={e.downloadUrl} download className="font-semibold text-brand underline" data-testid="export-download">
          {t('account.exportDownload')}
        </a>
      )}
      <ErrorNote error={start.error ?? status.error} />
    </section>
  );
}

function Password() {
  const t = useT(strings, auth);
  const me = useStore((s) => s.me)!;
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [code, setCode] = useState('');
  const change = useMutation({
    mutationFn: () => data(api.POST('/api/v1/auth/password', { body: { currentPassword: current, newPassword: next, code: code || null } })),
    onSuccess: () => {
      setCurrent('');
      setNext('');
      setCode('');
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    change.mutate();
  };
  return (
    <section className={card} aria-labelledby="password-title">
      <h2 id="password-title" className="font-semibold">{t('account.password')}</h2>
      <form onSubmit={submit} className="flex flex-col gap-2">
        <Field label={t('account.currentPassword')} type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required />
        <Field label={t('account.newPassword')} type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} required minLength={8} />
        {me.twoFactorEnabled && <Field label={t('auth.code')} inputMode="numeric" value={code} onChange={(e) => setCode(e.target.value)} />}
        <ErrorNote error={change.error} />
        {change.isSuccess && <p role="status" className="text-sm text-ok">{t('account.passwordChanged')}</p>}
        <Button type="submit" disabled={change.isPending}>{t('account.changePassword')}</Button>
      </form>
    </section>
  );
}

/** My account: two-step verification (QR code, recovery codes), sessions, password, export. */
export default function AccountPage() {
  const t = useT(strings, auth);
  const { me, pending } = useSignedIn();
  const client = useQueryClient();
  useEffect(() => {
    void client.invalidateQueries({ queryKey: keys.me });
  }, [client]);
  if (pending) return <Loading />;
  if (!me) return <Navigate to="/signin?next=/account" replace />;
  return (
    <main className="mx-auto flex w-full max-w-2xl flex-col gap-4 p-4">
      <h1 className="text-2xl font-bold">{t('account.title')}</h1>
      <p className="text-sm text-muted">
        @{me.handle} · {me.email}
      </p>
      <TwoFactor />
      <Sessions />
      <Password />
      <Export />
      <Suspense fallback={null}>
        <AccountExtras />
      </Suspense>
    </main>
  );
}
