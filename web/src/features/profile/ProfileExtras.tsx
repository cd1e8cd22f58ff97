/** A profile's further parts: a tip to the creator (outside a stream), who follows whom, and a
 * report to the moderators. Strings in English and Dutch, loaded with this chunk. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, body, data, idempotencyKey, type Schemas } from '@/api/client';
import { keys } from '@/api/keys';
import { Button } from '@/components/ui/Button';
import { card, Select, TextArea } from '@/components/ui/Console';
import { Field } from '@/components/ui/Field';
import { ErrorNote } from '@/components/ui/States';
import { defineStrings, useStrings } from '@/i18n';
import { Link } from '@/lib/router';
import { useStore } from '@/store';

const strings = defineStrings(
  {
    tip: 'Send a tip',
    amount: 'Tokens',
    message: 'Message (optional)',
    send: 'Tip',
    sent: 'Thank you! Your balance: {n} tokens.',
    followers: 'Followers',
    following: 'Following',
    nobody: 'Nobody yet.',
    report: 'Report this account',
    reason: 'Reason',
    details: 'What happened',
    sendReport: 'Send report',
    reported: 'Reported: the moderators will look at it.',
    'reason.underage': 'Looks under 18',
    'reason.non_consent': 'Without consent',
    'reason.violence': 'Violence',
    'reason.harassment': 'Harassment',
    'reason.spam': 'Spam',
    'reason.illegal': 'Illegal',
    'reason.other': 'Something else',
  },
  {
    tip: 'Fooi geven',
    amount: 'Tokens',
    message: 'Bericht (optioneel)',
    send: 'Fooi geven',
    sent: 'Dank je! Je saldo: {n} tokens.',
    followers: 'Volgers',
    following: 'Volgt',
    nobody: 'Nog niemand.',
    report: 'Dit account melden',
    reason: 'Reden',
    details: 'Wat er gebeurde',
    sendReport: 'Melding versturen',
    reported: 'Gemeld: de moderatoren kijken ernaar.',
    'reason.underage': 'Lijkt jonger dan 18',
    'reason.non_consent': 'Zonder toestemming',
    'reason.violence': 'Geweld',
    'reason.harassment': 'Intimidatie',
    'reason.spam': 'Spam',
    'reason.illegal': 'Illegaal',
    'reason.other': 'Iets anders',
  },
);
type S = ReturnType<typeof useStrings<keyof typeof strings.en>>;
const REASONS: Schemas['ReportIn']['reason'][] = ['underage', 'non_consent', 'violence', 'harassment', 'spam', 'illegal', 'other'];

function Tip({ handle, s }: { handle: string; s: S }) {
  const client = useQueryClient();
  const [amount, setAmount] = useState('');
  const [message, setMessage] = useState('');
  const tip = useMutation({
    mutationFn: () =>
      data(
        api.POST('/api/v1/users/{handle}/tip', {
          params: { path: { handle }, header: { 'Idempotency-Key': idempotencyKey() } },
          body: { amount: Number(amount), message: message || null },
        }),
      ),
    onSuccess: (out) => {
      useStore.getState().setBalance(out.balance);
      void client.invalidateQueries({ queryKey: keys.balance });
    },
  });
  return (
    <form
      className={card}
      aria-labelledby="profile-tip"
      onSubmit={(e) => {
        e.preventDefault();
        tip.mutate();
      }}
    >
      <h2 id="profile-tip" className="font-semibold">
        {s('tip')}
      </h2>
      <Field label={s('amount')} type="number" inputMode="numeric" min={1} value={amount} onChange={(e) => setAmount(e.target.value)} />
      <Field label={s('message')} value={message} onChange={(e) => setMessage(e.target.value)} />
      <ErrorNote error={tip.error} />
      {tip.data && <p role="status" className="text-sm text-brand">{s('sent', { n: tip.data.balance })}</p>}
      <Button type="submit" className="w-fit" disabled={!amount || tip.isPending}>
        {s('send')}
      </Button>
    </form>
  );
}

function People({ handle, s }: { handle: string; s: S }) {
  const followers = useQuery({
    queryKey: ['profile', handle, 'followers'],
    queryFn: () => body(api.GET('/api/v1/users/{handle}/followers', { params: { path: { handle }, query: { limit: 20 } } })),
  });
  const following = useQuery({
    queryKey: ['profile', handle, 'following'],
    queryFn: () => body(api.GET('/api/v1/users/{handle}/following', { params: { path: { handle }, query: { limit: 20 } } })),
  });
  const list = (title: string, q: typeof followers) => (
    <div className="min-w-0 flex-1">
      <h2 className="text-sm font-semibold">{title}</h2>
      <ErrorNote error={q.error} />
      {q.data?.data.length === 0 && <p className="text-sm text-muted">{s('nobody')}</p>}
      <ul className="flex flex-wrap gap-1 text-sm">
        {q.data?.data.map((f) => (
          <li key={f.id}>
            <Link to={`/u/${f.handle}`} className="text-brand hover:underline">
              @{f.handle}
            </Link>
          </li>
        ))}
      </ul>
    </div>
  );
  return (
    <section className={`${card} sm:flex-row`} aria-label={`${s('followers')} · ${s('following')}`}>
      {list(s('followers'), followers)}
      {list(s('following'), following)}
    </section>
  );
}

function Report({ userId, s }: { userId: string; s: S }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState<Schemas['ReportIn']['reason']>('spam');
  const [details, setDetails] = useState('');
  const report = useMutation({
    mutationFn: () => data(api.POST('/api/v1/reports', { body: { targetType: 'user', targetId: userId, reason, details } })),
  });
  if (!open) {
    return (
      <Button variant="ghost" className="w-fit" aria-expanded={false} onClick={() => setOpen(true)}>
        {s('report')}
      </Button>
    );
  }
  return (
    <form
      className={card}
      aria-labelledby="profile-report"
      onSubmit={(e) => {
        e.preventDefault();
        report.mutate();
      }}
    >
      <h2 id="profile-report" className="font-semibold">
        {s('report')}
      </h2>
      <Select label={s('reason')} value={reason} onChange={(e) => setReason(e.target.value as typeof reason)}>
        {REASONS.map((r) => (
          <option key={r} value={r}>
            {s(`reason.${r}`)}
          </option>
        ))}
      </Select>
      <TextArea label={s('details')} value={details} onChange={(e) => setDetails(e.target.value)} />
      <ErrorNote error={report.error} />
      {report.isSuccess ? (
        <p role="status" className="text-sm text-brand">
          {s('reported')}
        </p>
      ) : (
        <Button type="submit" variant="secondary" className="w-fit" disabled={report.isPending}>
          {s('sendReport')}
        </Button>
      )}
    </form>
  );
}

export default function ProfileExtras({ profile }: { profile: Schemas['Profile'] }) {
  const s = useStrings(strings);
  const me = useStore((st) => st.me);
  const other = me && me.handle !== profile.handle;
  return (
    <>
      {other && profile.creator && <Tip handle={profile.handle} s={s} />}
      <People handle={profile.handle} s={s} />
      {other && <Report userId={profile.id} s={s} />}
    </>
  );
}
