/** The creator's business: earnings and payout requests, the statement (CSV), subscription
 * tiers and subscribers, unlockables, and the private show price. Amounts and rules (the hold
 * days, the payout minimum) come from the API. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Navigate } from '@/lib/router';
import { api, body, data, idempotencyKey, type Schemas } from '@/api/client';
import { useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { card, Select } from '@/components/ui/Console';
import { Field } from '@/components/ui/Field';
import { Empty, ErrorNote, Loading, Page } from '@/components/ui/States';
import { useStrings } from '@/i18n';
import { strings } from './strings';

type S = ReturnType<typeof useStrings<keyof typeof strings.en>>;
const biz = ['business'] as const;

function Earnings({ s }: { s: S }) {
  const client = useQueryClient();
  const [amount, setAmount] = useState('');
  const earnings = useQuery({ queryKey: [...biz, 'earnings'], queryFn: () => data(api.GET('/api/v1/creators/me/earnings')) });
  const payouts = useQuery({ queryKey: [...biz, 'payouts'], queryFn: () => body(api.GET('/api/v1/payouts', { params: { query: { limit: 50 } } })) });
  const request = useMutation({
    mutationFn: () =>
      data(api.POST('/api/v1/payouts', { params: { header: { 'Idempotency-Key': idempotencyKey() } }, body: { amount: Number(amount) } })),
    onSuccess: () => {
      setAmount('');
      void client.invalidateQueries({ queryKey: biz });
    },
  });
  const e = earnings.data;
  return (
    <section className={card} aria-labelledby="earnings-title">
      <h2 id="earnings-title" className="font-semibold">
        {s('earnings')}
      </h2>
      {earnings.isPending && <Loading />}
      <ErrorNote error={earnings.error} />
      {e && (
        <dl className="grid grid-cols-[1fr_auto] gap-x-3 gap-y-1 text-sm">
          <dt>{s('available')}</dt>
          <dd className="text-right font-semibold" data-testid="available">
            {s('tokens', { n: e.available })}
          </dd>
          <dt>{s('immature', { days: e.holdDays })}</dt>
          <dd className="text-right">{s('tokens', { n: e.immature })}</dd>
          <dt>{s('pending')}</dt>
          <dd className="text-right">{s('tokens', { n: e.pending })}</dd>
          <dt>{s('paidOut')}</dt>
          <dd className="text-right">{s('tokens', { n: e.paidOut })}</dd>
        </dl>
      )}
      <form
        className="flex flex-wrap items-end gap-2"
        onSubmit={(ev) => {
          ev.preventDefault();
          request.mutate();
        }}
      >
        <Field
          label={s('amount')}
          type="number"
          inputMode="numeric"
          min={1}
          value={amount}
          onChange={(ev) => setAmount(ev.target.value)}
          hint={e ? s('minimum', { n: e.payoutMin }) : undefined}
        />
        <Button type="submit" disabled={!amount || request.isPending}>
          {s('requestPayout')}
        </Button>
      </form>
      <ErrorNote error={request.error} />
      <h3 className="mt-2 text-sm font-semibold">{s('payouts')}</h3>
      <ErrorNote error={payouts.error} />
      {payouts.data?.data.length === 0 && <p className="text-sm text-muted">{s('noPayouts')}</p>}
      <ul className="flex flex-col gap-1 text-sm" data-testid="payouts">
        {payouts.data?.data.map((p) => (
          <li key={p.id} className="flex flex-wrap justify-between gap-2 border-b border-line py-1">
            <span>{s('tokens', { n: p.amount })}</span>
            <span className="text-muted">{new Date(p.createdAt).toLocaleDateString()}</span>
            <span>{s(`state.${p.state}`)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function Statement({ s }: { s: S }) {
  const [from, setFrom] = useState(() => isoDay(new Date(Date.now() - 30 * 86400_000)));
  const [to, setTo] = useState(() => isoDay(new Date(Date.now() + 86400_000)));
  const [range, setRange] = useState({ from, to });
  const statement = useQuery({
    queryKey: [...biz, 'statement', range],
    queryFn: async () =>
      (await data(api.GET('/api/v1/creators/me/statement', { params: { query: { from: range.from, to: range.to, format: 'json' } } }))) as Schemas['StatementOut'],
  });
  const csv = useMutation({
    mutationFn: async () => {
      const res = await api.GET('/api/v1/creators/me/statement', { params: { query: { from, to, format: 'csv' } }, parseAs: 'text' });
      const text = await data(Promise.resolve(res));
      const url = URL.createObjectURL(new Blob([String(text)], { type: 'text/csv' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `statement-${from}-${to}.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    },
  });
  return (
    <section className={card} aria-labelledby="statement-title">
      <h2 id="statement-title" className="font-semibold">
        {s('statement')}
      </h2>
      <form
        className="flex flex-wrap items-end gap-2"
        onSubmit={(ev) => {
          ev.preventDefault();
          setRange({ from, to });
        }}
      >
        <Field label={s('from')} type="date" value={from} onChange={(ev) => setFrom(ev.target.value)} />
        <Field label={s('to')} type="date" value={to} onChange={(ev) => setTo(ev.target.value)} />
        <Button type="submit" variant="secondary">
          {s('showStatement')}
        </Button>
        <Button variant="secondary" onClick={() => csv.mutate()} disabled={csv.isPending}>
          {s('downloadCsv')}
        </Button>
      </form>
      <ErrorNote error={statement.error ?? csv.error} />
      {statement.data && (
        <div className="text-sm">
          <p>{s('opening', { n: statement.data.openingBalance })}</p>
          <ul className="my-1 flex flex-col gap-0.5">
            {Object.entries(statement.data.totals).map(([k, v]) => (
              <li key={k} className="flex justify-between gap-2">
                <span className="text-muted">{k}</span>
                <span>{String(v)}</span>
              </li>
            ))}
          </ul>
          <p>{s('closing', { n: statement.data.closingBalance })}</p>
        </div>
      )}
    </section>
  );
}

function TierRow({ tier, s }: { tier: Schemas['TierOut']; s: S }) {
  const client = useQueryClient();
  const toggle = useMutation({
    mutationFn: () =>
      data(
        api.PATCH('/api/v1/creators/{creator_id}/tiers/{tier_id}', {
          params: { path: { creator_id: tier.creatorId, tier_id: tier.id } },
          body: { active: !tier.active },
        }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: [...biz, 'tiers'] }),
  });
  return (
    <li className="flex flex-wrap items-center justify-between gap-2 border-b border-line py-1 text-sm">
      <span className="font-semibold">{tier.name}</span>
      <span>{s('tokens', { n: tier.price })}</span>
      <span className="text-muted">{tier.active ? s('active') : s('inactive')}</span>
      <Button variant="ghost" onClick={() => toggle.mutate()} disabled={toggle.isPending} aria-label={`${tier.active ? s('pause') : s('reactivate')}: ${tier.name}`}>
        {tier.active ? s('pause') : s('reactivate')}
      </Button>
      <ErrorNote error={toggle.error} />
    </li>
  );
}

function Tiers({ s, creatorId }: { s: S; creatorId: string }) {
  const client = useQueryClient();
  const [name, setName] = useState('');
  const [price, setPrice] = useState('');
  const tiers = useQuery({
    queryKey: [...biz, 'tiers'],
    queryFn: () => body(api.GET('/api/v1/creators/{creator_id}/tiers', { params: { path: { creator_id: creatorId } } })),
  });
  const count = useQuery({
    queryKey: [...biz, 'subscribers', 'count'],
    queryFn: () => data(api.GET('/api/v1/creators/{creator_id}/subscribers/count', { params: { path: { creator_id: creatorId } } })),
  });
  const subscribers = useQuery({
    queryKey: [...biz, 'subscribers'],
    queryFn: () => body(api.GET('/api/v1/creators/{creator_id}/subscribers', { params: { path: { creator_id: creatorId }, query: { limit: 50 } } })),
  });
  const add = useMutation({
    mutationFn: () => data(api.POST('/api/v1/creators/{creator_id}/tiers', { params: { path: { creator_id: creatorId } }, body: { name, price: Number(price) } })),
    onSuccess: () => {
      setName('');
      setPrice('');
      void client.invalidateQueries({ queryKey: [...biz, 'tiers'] });
    },
  });
  return (
    <section className={card} aria-labelledby="tiers-title">
      <h2 id="tiers-title" className="font-semibold">
        {s('tiers')}
      </h2>
      <ErrorNote error={tiers.error} />
      {tiers.data?.data.length === 0 && <p className="text-sm text-muted">{s('noTiers')}</p>}
      <ul className="flex flex-col">{tiers.data?.data.map((tier) => <TierRow key={tier.id} tier={tier} s={s} />)}</ul>
      <form
        className="flex flex-wrap items-end gap-2"
        onSubmit={(ev) => {
          ev.preventDefault();
          add.mutate();
        }}
      >
        <Field label={s('tierName')} value={name} onChange={(ev) => setName(ev.target.value)} />
        <Field label={s('tierPrice')} type="number" min={1} value={price} onChange={(ev) => setPrice(ev.target.value)} />
        <Button type="submit" disabled={!name || !price || add.isPending}>
          {s('addTier')}
        </Button>
      </form>
      <ErrorNote error={add.error} />
      <h3 className="mt-2 text-sm font-semibold">{s('subscribers')}</h3>
      {count.data && <p className="text-sm" data-testid="subscriber-count">{s('subscriberCount', count.data)}</p>}
      <ErrorNote error={count.error ?? subscribers.error} />
      {subscribers.data?.data.length === 0 && <p className="text-sm text-muted">{s('noSubscribers')}</p>}
      <ul className="flex flex-col gap-0.5 text-sm">
        {subscribers.data?.data.map((sub) => (
          <li key={sub.id} className="flex justify-between gap-2">
            <span>@{sub.subscriberHandle}</span>
            <span className="text-muted">{sub.tier.name}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function UnlockableRow({ item, s }: { item: Schemas['UnlockableOut']; s: S }) {
  const client = useQueryClient();
  const [open, setOpen] = useState(false);
  const detail = useQuery({
    queryKey: [...biz, 'unlockable', item.id],
    enabled: open,
    queryFn: () => data(api.GET('/api/v1/unlockables/{unlockable_id}', { params: { path: { unlockable_id: item.id } } })),
  });
  const toggle = useMutation({
    mutationFn: () => data(api.PATCH('/api/v1/unlockables/{unlockable_id}', { params: { path: { unlockable_id: item.id } }, body: { active: !item.active } })),
    onSuccess: () => client.invalidateQueries({ queryKey: [...biz, 'unlockables'] }),
  });
  const shown = detail.data ?? item;
  return (
    <li className="flex flex-col gap-1 border-b border-line py-1 text-sm">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <span className="font-semibold">{item.title}</span>
        <span>{s('progress', { progress: item.progress, threshold: item.threshold })}</span>
        <span className="text-muted">{item.unlocked ? s('unlocked') : item.active ? s('active') : s('inactive')}</span>
        <Button variant="ghost" aria-expanded={open} onClick={() => setOpen(!open)} aria-label={`${s('details')}: ${item.title}`}>
          {s('details')}
        </Button>
        <Button variant="ghost" onClick={() => toggle.mutate()} disabled={toggle.isPending} aria-label={`${item.active ? s('pause') : s('reactivate')}: ${item.title}`}>
          {item.active ? s('pause') : s('reactivate')}
        </Button>
      </div>
      {open && <p className="text-muted">{s(`scope.${shown.scope}`)}</p>}
      <ErrorNote error={toggle.error ?? detail.error} />
    </li>
  );
}

function Unlockables({ s, creatorId }: { s: S; creatorId: string }) {
  const client = useQueryClient();
  const [title, setTitle] = useState('');
  const [payload, setPayload] = useState('');
  const [threshold, setThreshold] = useState('');
  const [scope, setScope] = useState<'viewer' | 'room'>('room');
  const list = useQuery({
    queryKey: [...biz, 'unlockables'],
    queryFn: () => body(api.GET('/api/v1/creators/{creator_id}/unlockables', { params: { path: { creator_id: creatorId }, query: { limit: 50 } } })),
  });
  const add = useMutation({
    mutationFn: () => data(api.POST('/api/v1/unlockables', { body: { title, payload, threshold: Number(threshold), scope } })),
    onSuccess: () => {
      setTitle('');
      setPayload('');
      setThreshold('');
      void client.invalidateQueries({ queryKey: [...biz, 'unlockables'] });
    },
  });
  return (
    <section className={card} aria-labelledby="unlockables-title">
      <h2 id="unlockables-title" className="font-semibold">
        {s('unlockables')}
      </h2>
      <ErrorNote error={list.error} />
      {list.data?.data.length === 0 && <p className="text-sm text-muted">{s('noUnlockables')}</p>}
      <ul className="flex flex-col">{list.data?.data.map((u) => <UnlockableRow key={u.id} item={u} s={s} />)}</ul>
      <form
        className="flex flex-col gap-2"
        onSubmit={(ev) => {
          ev.preventDefault();
          add.mutate();
        }}
      >
        <Field label={s('ulTitle')} value={title} onChange={(ev) => setTitle(ev.target.value)} />
        <Field label={s('ulPayload')} value={payload} onChange={(ev) => setPayload(ev.target.value)} />
        <Field label={s('ulThreshold')} type="number" min={1} value={threshold} onChange={(ev) => setThreshold(ev.target.value)} />
        <Select label={s('ulScope')} value={scope} onChange={(ev) => setScope(ev.target.value as 'viewer' | 'room')}>
          <option value="room">{s('scope.room')}</option>
          <option value="viewer">{s('scope.viewer')}</option>
        </Select>
        <ErrorNote error={add.error} />
        <Button type="submit" className="w-fit" disabled={!title || !payload || !threshold || add.isPending}>
          {s('addUnlockable')}
        </Button>
      </form>
    </section>
  );
}

function PrivatePrice({ s }: { s: S }) {
  const [price, setPrice] = useState('');
  const save = useMutation({
    mutationFn: () => data(api.PUT('/api/v1/private-shows/price', { body: { pricePerMinute: price ? Number(price) : null } })),
  });
  return (
    <form
      className={card}
      aria-labelledby="private-title"
      onSubmit={(ev) => {
        ev.preventDefault();
        save.mutate();
      }}
    >
      <h2 id="private-title" className="font-semibold">
        {s('privatePrice')}
      </h2>
      <Field label={s('pricePerMinute')} type="number" min={1} value={price} onChange={(ev) => setPrice(ev.target.value)} />
      <ErrorNote error={save.error} />
      {save.isSuccess && <p role="status" className="text-sm text-brand">{s('saved')}</p>}
      <Button type="submit" className="w-fit" disabled={save.isPending}>
        {s('savePrice')}
      </Button>
    </form>
  );
}

export default function BusinessPage() {
  const s = useStrings(strings);
  const { me, pending } = useSignedIn();
  if (pending) return <Loading />;
  if (!me) return <Navigate to="/signin?next=/studio/business" replace />;
  if (!me.permissions.includes('stream.publish')) {
    return (
      <Page title={s('title')}>
        <Empty>{s('notAllowed')}</Empty>
      </Page>
    );
  }
  return (
    <Page title={s('title')} wide>
      <div className="grid gap-3 lg:grid-cols-2">
        <Earnings s={s} />
        <Statement s={s} />
        <Tiers s={s} creatorId={me.id} />
        <Unlockables s={s} creatorId={me.id} />
        <PrivatePrice s={s} />
      </div>
    </Page>
  );
}
