/** The account's further sections: profile and picture, email address, turning two-step
 * verification off, the decisions about me (statement of reasons), my reports and appeals,
 * and erasing the account. */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, body, data } from '@/api/client';
import { keys } from '@/api/keys';
import { signedInAs } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { card, TextArea } from '@/components/ui/Console';
import { Field } from '@/components/ui/Field';
import { ErrorNote } from '@/components/ui/States';
import { useStrings } from '@/i18n';
import { useNavigate } from '@/lib/router';
import { useStore } from '@/store';
import { strings } from './extrasStrings';

type S = ReturnType<typeof useStrings<keyof typeof strings.en>>;

function Profile({ s }: { s: S }) {
  const me = useStore((st) => st.me)!;
  const client = useQueryClient();
  const [displayName, setDisplayName] = useState('');
  const [bio, setBio] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const save = useMutation({
    mutationFn: () =>
      data(api.PATCH('/api/v1/users/{handle}', { params: { path: { handle: me.handle } }, body: { displayName: displayName || null, bio: bio || null } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.profile(me.handle) }),
  });
  const avatar = useMutation({
    mutationFn: (f: File) =>
      data(
        api.PUT('/api/v1/users/{handle}/avatar', {
          params: { path: { handle: me.handle } },
          body: f as never,
          bodySerializer: (b: unknown) => b as Blob,
          headers: { 'Content-Type': f.type || 'application/octet-stream' },
        }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.profile(me.handle) }),
  });
  return (
    <section className={card} aria-labelledby="profile-title">
      <h2 id="profile-title" className="font-semibold">
        {s('profile')}
      </h2>
      <form
        className="flex flex-col gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Field label={s('displayName')} value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
        <TextArea label={s('bio')} value={bio} onChange={(e) => setBio(e.target.value)} />
        <ErrorNote error={save.error} />
        {save.isSuccess && <p role="status" className="text-sm text-brand">{s('saved')}</p>}
        <Button type="submit" variant="secondary" className="w-fit" disabled={save.isPending}>
          {s('saveProfile')}
        </Button>
      </form>
      <form
        className="flex flex-col gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          if (file) avatar.mutate(file);
        }}
      >
        <Field label={s('avatar')} type="file" accept="image/png,image/jpeg,image/webp,image/gif" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        <ErrorNote error={avatar.error} />
        {avatar.isSuccess && <p role="status" className="text-sm text-brand">{s('saved')}</p>}
        <Button type="submit" variant="secondary" className="w-fit" disabled={!file || avatar.isPending}>
          {s('uploadAvatar')}
        </Button>
      </form>
    </section>
  );
}

function Email({ s }: { s: S }) {
  const client = useQueryClient();
  const [email, setEmail] = useState('');
  const change = useMutation({
    mutationFn: () => data(api.POST('/api/v1/auth/email', { body: { email } })),
    onSuccess: (me) => {
      useStore.getState().setMe(me);
      client.setQueryData(keys.me, me);
      setEmail('');
    },
  });
  return (
    <form
      className={card}
      aria-labelledby="email-title"
      onSubmit={(e) => {
        e.preventDefault();
        change.mutate();
      }}
    >
      <h2 id="email-title" className="font-semibold">
        {s('email')}
      </h2>
      <Field label={s('newEmail')} type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} />
      <ErrorNote error={change.error} />
      {change.isSuccess && <p role="status" className="text-sm text-brand">{s('emailChanged')}</p>}
      <Button type="submit" variant="secondary" className="w-fit" disabled={!email || change.isPending}>
        {s('changeEmail')}
      </Button>
    </form>
  );
}

function TwoFactorOff({ s }: { s: S }) {
  const client = useQueryClient();
  const [code, setCode] = useState('');
  const off = useMutation({
    mutationFn: () => data(api.POST('/api/v1/auth/2fa/disable', { body: { code } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.me }),
  });
  return (
    <form
      className={card}
      aria-labelledby="tfa-off-title"
      onSubmit={(e) => {
        e.preventDefault();
        off.mutate();
      }}
    >
      <h2 id="tfa-off-title" className="font-semibold">
        {s('tfaOff')}
      </h2>
      <Field label={s('tfaCode')} inputMode="numeric" autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} />
      <ErrorNote error={off.error} />
      <Button type="submit" variant="secondary" className="w-fit" disabled={!code || off.isPending}>
        {s('tfaOff')}
      </Button>
    </form>
  );
}

/** Moderation and trust decisions about my account and my content, with their grounds and
 * whether they can be appealed (the API's list; nothing is decided here). */
function Decisions({ s, onAppeal }: { s: S; onAppeal: (reportId: string) => void }) {
  const lang = useStore((st) => st.lang);
  const decisions = useInfiniteQuery({
    queryKey: ['account', 'decisions'],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      body(api.GET('/api/v1/me/decisions', { params: { query: { limit: 20, ...(pageParam ? { cursor: pageParam } : {}) } } })),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const rows = decisions.data?.pages.flatMap((p) => p.data) ?? [];
  const label = (key: string, fallback: string) => {
    const text = s(key as never);
    return text === key ? fallback : text;
  };
  return (
    <section className={card} aria-labelledby="decisions-title">
      <h2 id="decisions-title" className="font-semibold">
        {s('decisions')}
      </h2>
      <p className="text-xs text-muted">{s('decisionsHelp')}</p>
      <ErrorNote error={decisions.error} />
      {decisions.isSuccess && rows.length === 0 && <p className="text-sm text-muted">{s('noDecisions')}</p>}
      <ul className="flex flex-col divide-y divide-line text-sm" data-testid="my-decisions">
        {rows.map((d) => (
          <li key={d.id} className="flex flex-col gap-1 py-2">
            <span className="font-semibold">{label(`action.${d.action}`, d.action)}</span>
            <span className="text-xs text-muted">
              <time dateTime={d.at}>{new Date(d.at).toLocaleString(lang)}</time> · {s(d.automated ? 'automated' : 'byPerson')}
              {d.targetType && ` · ${label(`target.${d.targetType}`, d.targetType)}`}
            </span>
            {d.ground && <span>{s('ground', { ground: label(`reason.${d.ground}`, d.ground) })}</span>}
            {d.until && <span>{s('until', { when: new Date(d.until).toLocaleString(lang) })}</span>}
            {d.reportId && <span className="break-all text-xs text-muted">{s('referenceIs', { id: d.reportId })}</span>}
            {d.appealable && d.reportId && (
              <Button variant="secondary" className="w-fit" onClick={() => onAppeal(d.reportId!)}>
                {s('appealThis')}
              </Button>
            )}
          </li>
        ))}
      </ul>
      {decisions.hasNextPage && (
        <Button variant="secondary" className="w-fit" disabled={decisions.isFetchingNextPage} onClick={() => decisions.fetchNextPage()}>
          {s('more')}
        </Button>
      )}
    </section>
  );
}

function Reports({ s, reportId, setReportId }: { s: S; reportId: string; setReportId: (id: string) => void }) {
  const reports = useQuery({ queryKey: ['account', 'reports'], queryFn: () => data(api.GET('/api/v1/reports', { params: { query: { limit: 50 } } })) });
  const [text, setText] = useState('');
  const appeal = useMutation({
    mutationFn: () => data(api.POST('/api/v1/appeals', { body: { reportId: reportId.trim(), text } })),
    onSuccess: () => {
      setReportId('');
      setText('');
    },
  });
  return (
    <section className={card} aria-labelledby="reports-title">
      <h2 id="reports-title" className="font-semibold">
        {s('reports')}
      </h2>
      <ErrorNote error={reports.error} />
      {reports.data?.length === 0 && <p className="text-sm text-muted">{s('noReports')}</p>}
      <ul className="flex flex-col gap-1 text-sm" data-testid="my-reports">
        {reports.data?.map((r) => (
          <li key={r.id}>{s('reportLine', { reason: r.reason, type: r.targetType, status: s(`status.${r.status}`) })}</li>
        ))}
      </ul>
      <h3 className="mt-2 text-sm font-semibold">{s('appeal')}</h3>
      <p className="text-xs text-muted">{s('appealHelp')}</p>
      <form
        className="flex flex-col gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          appeal.mutate();
        }}
      >
        <Field id="appeal-reference" label={s('reference')} value={reportId} onChange={(e) => setReportId(e.target.value)} autoComplete="off" />
        <TextArea label={s('appealText')} value={text} onChange={(e) => setText(e.target.value)} />
        <ErrorNote error={appeal.error} />
        {appeal.isSuccess && <p role="status" className="text-sm text-brand">{s('appealSent')}</p>}
        <Button type="submit" variant="secondary" className="w-fit" disabled={!reportId || !text || appeal.isPending}>
          {s('sendAppeal')}
        </Button>
      </form>
    </section>
  );
}

function Erase({ s }: { s: S }) {
  const client = useQueryClient();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const erase = useMutation({
    mutationFn: () => data(api.DELETE('/api/v1/me', { body: { password, code: code || null } })),
    onSuccess: async () => {
      await signedInAs(client, null);
      navigate('/', { replace: true });
    },
  });
  return (
    <form
      className={`${card} border-red-900`}
      aria-labelledby="erase-title"
      onSubmit={(e) => {
        e.preventDefault();
        erase.mutate();
      }}
    >
      <h2 id="erase-title" className="font-semibold text-red-300">
        {s('erase')}
      </h2>
      <p className="text-sm text-muted">{s('eraseHelp')}</p>
      {!open ? (
        <Button variant="secondary" className="w-fit" aria-expanded={false} onClick={() => setOpen(true)}>
          {s('erase')}
        </Button>
      ) : (
        <>
          <Field label={s('password')} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
          <Field label={s('codeIfOn')} inputMode="numeric" autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} />
          <ErrorNote error={erase.error} />
          <Button type="submit" variant="danger" className="w-fit" disabled={!password || erase.isPending}>
            {s('eraseConfirm')}
          </Button>
        </>
      )}
    </form>
  );
}

export default function AccountExtras() {
  const s = useStrings(strings);
  const me = useStore((st) => st.me);
  const [reportId, setReportId] = useState('');
  if (!me) return null;
  return (
    <>
      <Profile s={s} />
      <Email s={s} />
      {me.twoFactorEnabled && <TwoFactorOff s={s} />}
      <Decisions
        s={s}
        onAppeal={(id) => {
          setReportId(id);
          document.getElementById('appeal-reference')?.focus();
        }}
      />
      <Reports s={s} reportId={reportId} setReportId={setReportId} />
      <Erase s={s} />
    </>
  );
}
