/** Admin: the payout approval queue, accounts and their roles, money (fee schedules, the
 * billing kill switch), the age-gate rules per jurisdiction and the audit log — what the API
 * offers administrators. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Navigate } from '@/lib/router';
import { api, body, data, type Schemas } from '@/api/client';
import { useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { card, ConsoleTabs, Select, TextArea } from '@/components/ui/Console';
import { Field } from '@/components/ui/Field';
import { Empty, ErrorNote, Loading, Page } from '@/components/ui/States';
import { useStrings } from '@/i18n';
import { Money } from './AdminMoney';
import { Users } from './AdminUsers';
import { strings } from './strings';

type S = ReturnType<typeof useStrings<keyof typeof strings.en>>;
const admin = ['admin'] as const;
type PayoutState = 'pending' | 'approved' | 'rejected' | 'all';

function PayoutCard({ payout, s }: { payout: Schemas['PayoutOut']; s: S }) {
  const client = useQueryClient();
  const [note, setNote] = useState('');
  const decide = useMutation({
    mutationFn: (approve: boolean) =>
      data(
        approve
          ? api.POST('/api/v1/admin/payouts/{payout_id}/approve', { params: { path: { payout_id: payout.id } }, body: { note: note || null } })
          : api.POST('/api/v1/admin/payouts/{payout_id}/reject', { params: { path: { payout_id: payout.id } }, body: { note: note || null } }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: [...admin, 'payouts'] }),
  });
  return (
    <li className={card} data-testid="payout">
      <p className="text-lg font-semibold">{s('payout.amount', { n: payout.amount })}</p>
      <p className="break-all text-xs text-muted">{s('payout.creator', { id: payout.creatorId })}</p>
      <p className="text-xs text-muted">{s('payout.requested', { when: new Date(payout.createdAt).toLocaleString() })}</p>
      <p className="text-sm" data-testid="payout-state">
        {s('payout.state', { state: s(`state.${payout.state}`) })}
        {payout.paid !== null && ` · ${s('payout.paid', { n: payout.paid })}`}
      </p>
      {payout.note && <p className="text-sm">“{payout.note}”</p>}
      {payout.state === 'pending' && (
        <>
          <TextArea label={s('payout.note')} value={note} onChange={(e) => setNote(e.target.value)} />
          <ErrorNote error={decide.error} />
          <div className="flex flex-wrap gap-2">
            <Button disabled={decide.isPending} onClick={() => decide.mutate(true)}>
              {s('payout.approve')}
            </Button>
            <Button variant="danger" disabled={decide.isPending} onClick={() => decide.mutate(false)}>
              {s('payout.reject')}
            </Button>
          </div>
        </>
      )}
    </li>
  );
}

function Payouts({ s }: { s: S }) {
  const [status, setStatus] = useState<PayoutState>('pending');
  const payouts = useQuery({
    queryKey: [...admin, 'payouts', status],
    queryFn: () => body(api.GET('/api/v1/admin/payouts', { params: { query: { status, limit: 50 } } })),
  });
  return (
    <>
      <div className="w-48">
        <Select label={s('show')} value={status} onChange={(e) => setStatus(e.target.value as PayoutState)}>
          {(['pending', 'approved', 'rejected', 'all'] as const).map((v) => (
            <option key={v} value={v}>
              {s(`state.${v}`)}
            </option>
          ))}
        </Select>
      </div>
      {payouts.isPending && <Loading />}
      <ErrorNote error={payouts.error} />
      {payouts.data?.data.length === 0 && <Empty>{s('empty')}</Empty>}
      <ul className="grid gap-3 lg:grid-cols-2">
        {payouts.data?.data.map((p) => <PayoutCard key={p.id} payout={p} s={s} />)}
      </ul>
    </>
  );
}

function AgeGate({ s }: { s: S }) {
  const client = useQueryClient();
  const [country, setCountry] = useState('');
  const [region, setRegion] = useState('');
  const [requirement, setRequirement] = useState<Schemas['RuleIn']['requirement']>('self_declared');
  const rules = useQuery({ queryKey: [...admin, 'age-rules'], queryFn: () => data(api.GET('/api/v1/admin/age-gate/rules')) });
  const save = useMutation({
    mutationFn: () => data(api.PUT('/api/v1/admin/age-gate/rules', { body: { country: country.toUpperCase(), region: region || null, requirement } })),
    onSuccess: () => client.invalidateQueries({ queryKey: [...admin, 'age-rules'] }),
  });
  const req = (r: Schemas['RuleIn']['requirement']) => s(`age.req.${r}`);
  return (
    <div className="grid gap-3 lg:grid-cols-2">
      <form
        className={card}
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Field label={s('age.country')} value={country} maxLength={2} onChange={(e) => setCountry(e.target.value)} />
        <Field label={s('age.region')} value={region} onChange={(e) => setRegion(e.target.value)} />
        <Select label={s('age.requirement')} value={requirement} onChange={(e) => setRequirement(e.target.value as typeof requirement)}>
          {(['none', 'self_declared', 'verified'] as const).map((r) => (
            <option key={r} value={r}>
              {req(r)}
            </option>
          ))}
        </Select>
        <ErrorNote error={save.error} />
        <Button type="submit" className="w-fit" disabled={!country || save.isPending}>
          {s('age.save')}
        </Button>
      </form>
      <section className={card} aria-labelledby="age-rules">
        <h2 id="age-rules" className="font-semibold">
          {s('age.rules')}
        </h2>
        {rules.isPending && <Loading />}
        <ErrorNote error={rules.error} />
        <ul className="flex flex-col gap-1 text-sm" data-testid="age-rules">
          {rules.data?.map((r) => (
            <li key={`${r.country}-${r.region ?? ''}`} className="flex justify-between gap-2 border-b border-line py-1">
              <span>
                {r.country}
                {r.region ? `-${r.region}` : ''}
              </span>
              <span>{req(r.requirement)}</span>
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}

function Audit({ s }: { s: S }) {
  const [action, setAction] = useState('');
  const [subject, setSubject] = useState('');
  const [filter, setFilter] = useState({ action: '', subject: '' });
  const log = useQuery({
    queryKey: [...admin, 'audit', filter],
    queryFn: () =>
      body(api.GET('/api/v1/admin/audit-log', { params: { query: { limit: 100, action: filter.action || null, subject: filter.subject || null } } })),
  });
  return (
    <>
      <form
        className="flex flex-wrap items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter({ action, subject });
        }}
      >
        <Field label={s('audit.action')} value={action} onChange={(e) => setAction(e.target.value)} />
        <Field label={s('audit.subject')} value={subject} onChange={(e) => setSubject(e.target.value)} />
        <Button type="submit" variant="secondary">
          {s('audit.filter')}
        </Button>
      </form>
      {log.isPending && <Loading />}
      <ErrorNote error={log.error} />
      {log.data?.data.length === 0 && <Empty>{s('empty')}</Empty>}
      <ul className="flex flex-col gap-1 text-sm" data-testid="audit-log">
        {log.data?.data.map((e) => (
          <li key={e.id} className="flex flex-wrap gap-2 border-b border-line py-1">
            <time className="text-muted" dateTime={e.at}>
              {new Date(e.at).toLocaleString()}
            </time>
            <span className="font-semibold">{e.action}</span>
            <span className="break-all text-muted">{e.target ?? ''}</span>
          </li>
        ))}
      </ul>
    </>
  );
}

export default function AdminPage() {
  const s = useStrings(strings);
  const { me, pending } = useSignedIn();
  if (pending) return <Loading />;
  if (!me) return <Navigate to="/signin?next=/admin" replace />;
  if (!me.permissions.includes('system.config_limited')) {
    return (
      <Page title={s('title')}>
        <Empty>{s('notAllowed')}</Empty>
      </Page>
    );
  }
  return (
    <Page title={s('title')} wide>
      <ConsoleTabs
        label={s('title')}
        tabs={[
          { value: 'payouts', title: s('tab.payouts'), body: <Payouts s={s} /> },
          { value: 'users', title: s('tab.users'), body: <Users s={s} /> },
          { value: 'money', title: s('tab.money'), body: <Money s={s} /> },
          { value: 'age', title: s('tab.ageGate'), body: <AgeGate s={s} /> },
          { value: 'audit', title: s('tab.audit'), body: <Audit s={s} /> },
        ]}
      />
    </Page>
  );
}
