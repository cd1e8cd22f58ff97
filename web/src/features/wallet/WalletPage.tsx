import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Dialog } from 'radix-ui';
import { CreditCard, X } from 'lucide-react';
import { useState } from 'react';
import { Link, Navigate } from '@/lib/router';
import { api, body, data, idempotencyKey, type Schemas } from '@/api/client';
import { keys } from '@/api/keys';
import { useBalance, useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { Empty, ErrorNote, Loading } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from './strings';
import { useStore } from '@/store';

type Package = Schemas['PackageOut'];

function money(lang: string, price: Schemas['Price']): string {
  return new Intl.NumberFormat(lang, { style: 'currency', currency: price.currency }).format(price.amountMinor / 100);
}

/** The provider's checkout as a real one runs it: card step, then wait for its confirmation
 * (the API credits the tokens when the provider's webhook arrives), or its decline. */
function Checkout({ pkg, onClose }: { pkg: Package; onClose: () => void }) {
  const t = useT(strings);
  const lang = useStore((s) => s.lang);
  const client = useQueryClient();
  const [purchaseId, setPurchaseId] = useState<string | null>(null);
  const start = useMutation({
    mutationFn: (method: 'sandbox_confirm' | 'sandbox_decline') =>
      data(
        api.POST('/api/v1/wallet/purchase', {
          params: { header: { 'Idempotency-Key': idempotencyKey() } },
          body: { packageId: pkg.id, provider: 'sandbox', paymentMethod: method },
        }),
      ),
    onSuccess: (created) => setPurchaseId(created.purchase.id),
  });
  const purchase = useQuery({
    queryKey: keys.purchase(purchaseId ?? ''),
    enabled: Boolean(purchaseId),
    queryFn: async () => {
      const p = await data(api.GET('/api/v1/wallet/purchases/{purchase_id}', { params: { path: { purchase_id: purchaseId! } } }));
      if (p.state !== 'pending') {
        void client.invalidateQueries({ queryKey: keys.balance });
        void client.invalidateQueries({ queryKey: keys.history });
      }
      return p;
    },
    refetchInterval: (q) => (q.state.data && q.state.data.state !== 'pending' ? false : 700),
  });
  const state = purchase.data?.state ?? (purchaseId ? 'pending' : null);
  return (
    <div className="flex flex-col gap-3" data-testid="checkout" data-state={state ?? 'card'}>
      <p>{t('wallet.checkoutFor', { n: pkg.tokens, price: money(lang, pkg.price) })}</p>
      {!purchaseId && (
        <>
          <p className="text-sm text-muted">{t('wallet.sandboxNote')}</p>
          <Button onClick={() => start.mutate('sandbox_confirm')} disabled={start.isPending}>
            <CreditCard className="size-4" aria-hidden /> {t('wallet.pay', { price: money(lang, pkg.price) })}
          </Button>
          <Button variant="secondary" onClick={() => start.mutate('sandbox_decline')} disabled={start.isPending}>
            {t('wallet.payDeclined')}
          </Button>
        </>
      )}
      {state === 'pending' && <Loading label={t('wallet.waiting')} />}
      {state === 'confirmed' && <p role="status" className="text-ok">{t('wallet.confirmed', { n: pkg.tokens })}</p>}
      {state === 'declined' && <p role="alert" className="text-red-400">{t('wallet.declined')}</p>}
      <ErrorNote error={start.error ?? purchase.error} />
      {state && state !== 'pending' && <Button variant="secondary" onClick={onClose}>{t('common.close')}</Button>}
    </div>
  );
}

function History() {
  const t = useT(strings);
  const lang = useStore((s) => s.lang);
  const history = useInfiniteQuery({
    queryKey: keys.history,
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      body(api.GET('/api/v1/wallet/history', { params: { query: { limit: 20, ...(pageParam ? { cursor: pageParam } : {}) } as never } })),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  if (history.isPending) return <Loading />;
  if (history.isError) return <ErrorNote error={history.error} />;
  const lines = history.data.pages.flatMap((p) => p.data);
  if (!lines.length) return <Empty>{t('wallet.noHistory')}</Empty>;
  return (
    <>
      <ol className="divide-y divide-line rounded-xl border border-line bg-panel" data-testid="history">
        {lines.map((l) => (
          <li key={`${l.transactionId}:${l.kind}:${l.amount}`} className="flex items-center justify-between gap-2 px-3 py-2 text-sm">
            <span>
              <span className="block">{t(`wallet.kind.${l.kind}` as never) === `wallet.kind.${l.kind}` ? l.kind : t(`wallet.kind.${l.kind}` as never)}</span>
              <span className="text-xs text-muted">{new Date(l.createdAt).toLocaleString(lang)}</span>
            </span>
            <span className={`tabular-nums font-semibold ${l.amount >= 0 ? 'text-ok' : 'text-neutral-200'}`}>
              {l.amount > 0 ? '+' : ''}
              {l.amount}
            </span>
          </li>
        ))}
      </ol>
      {history.hasNextPage && (
        <Button variant="secondary" onClick={() => void history.fetchNextPage()} disabled={history.isFetchingNextPage}>
          {t('common.more')}
        </Button>
      )}
    </>
  );
}

function Subscriptions() {
  const t = useT(strings);
  const lang = useStore((s) => s.lang);
  const client = useQueryClient();
  const subs = useQuery({ queryKey: keys.subscriptions, queryFn: () => data(api.GET('/api/v1/subscriptions')) });
  const cancel = useMutation({
    mutationFn: async (id: string) => {
      await data(api.POST('/api/v1/subscriptions/{subscription_id}/cancel', { params: { path: { subscription_id: id } } }));
      // The one subscription as it stands now (access until the period's end), in the list.
      return data(api.GET('/api/v1/subscriptions/{subscription_id}', { params: { path: { subscription_id: id } } }));
    },
    onSuccess: (fresh) =>
      client.setQueryData(keys.subscriptions, (list: Schemas['SubscriptionOut'][] | undefined) => list?.map((x) => (x.id === fresh.id ? fresh : x))),
  });
  if (subs.isPending) return <Loading />;
  if (subs.isError) return <ErrorNote error={subs.error} />;
  if (!subs.data.length) return <Empty>{t('subs.none')}</Empty>;
  return (
    <ul className="flex flex-col gap-2" data-testid="subscriptions">
      {subs.data.map((s) => (
        <li key={s.id} className="flex flex-wrap items-center justify-between gap-2 rounded-xl border border-line bg-panel p-3 text-sm">
          <span>
            <span className="block font-semibold">@{s.creatorHandle} · {s.tier.name}</span>
            <span className="text-muted">{t(`subs.state.${s.state}` as never)} · {t('subs.until', { date: new Date(s.currentPeriodEnd).toLocaleDateString(lang) })}</span>
          </span>
          {s.state === 'active' && !s.cancelAtPeriodEnd && (
            <Button variant="secondary" onClick={() => cancel.mutate(s.id)} disabled={cancel.isPending}>
              {t('subs.cancel')}
            </Button>
          )}
        </li>
      ))}
      <ErrorNote error={cancel.error} />
    </ul>
  );
}

export default function WalletPage() {
  const t = useT(strings);
  const lang = useStore((s) => s.lang);
  const { me, pending } = useSignedIn();
  const balance = useBalance(Boolean(me));
  const packages = useQuery({ queryKey: keys.packages, queryFn: () => data(api.GET('/api/v1/wallet/packages')) });
  const [checkout, setCheckout] = useState<Package | null>(null);
  if (pending) return <Loading />;
  if (!me) return <Navigate to="/signin?next=/wallet" replace />;
  return (
    <main className="mx-auto flex w-full max-w-3xl flex-col gap-4 p-4">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-2xl font-bold">{t('nav.wallet')}</h1>
        <Link to="/membership" className="text-brand underline">{t('membership.title')}</Link>
      </div>
      <section className="grid grid-cols-2 gap-2 sm:grid-cols-4" aria-label={t('wallet.balance')}>
        {balance.data ? (
          (['balance', 'held', 'earnings', 'debt'] as const).map((k) => (
            <div key={k} className="rounded-xl border border-line bg-panel p-3">
              <p className="text-xs uppercase text-muted">{t(`wallet.${k}`)}</p>
              <p className="text-2xl font-bold tabular-nums" data-testid={`wallet-${k}`}>{balance.data[k]}</p>
            </div>
          ))
        ) : (
          <ErrorNote error={balance.error} />
        )}
      </section>
      <section className="flex flex-col gap-2">
        <h2 className="text-lg font-semibold">{t('wallet.buy')}</h2>
        {packages.isPending ? (
          <Loading />
        ) : packages.isError ? (
          <ErrorNote error={packages.error} />
        ) : (
          <ul className="grid grid-cols-2 gap-2 sm:grid-cols-3">
            {packages.data.map((p) => (
              <li key={p.id}>
                <button type="button" onClick={() => setCheckout(p)} className="w-full rounded-xl border border-line bg-panel p-3 text-left hover:border-brand">
                  <span className="block text-lg font-bold">{t('wallet.tokens', { n: p.tokens })}</span>
                  <span className="text-sm text-muted">{money(lang, p.price)}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
      <Dialog.Root open={checkout !== null} onOpenChange={(open) => !open && setCheckout(null)}>
        <Dialog.Portal>
          <Dialog.Overlay className="fixed inset-0 z-30 bg-black/60" />
          <Dialog.Content className="fixed left-1/2 top-1/2 z-40 w-[min(28rem,92vw)] -translate-x-1/2 -translate-y-1/2 rounded-2xl bg-panel p-4">
            <div className="mb-2 flex items-center justify-between">
              <Dialog.Title className="font-bold">{t('wallet.checkout')}</Dialog.Title>
              <Dialog.Close className="rounded-lg p-2" aria-label={t('common.close')}>
                <X className="size-5" aria-hidden />
              </Dialog.Close>
            </div>
            <Dialog.Description className="sr-only">{t('wallet.checkout')}</Dialog.Description>
            {checkout && <Checkout pkg={checkout} onClose={() => setCheckout(null)} />}
          </Dialog.Content>
        </Dialog.Portal>
      </Dialog.Root>
      <section className="flex flex-col gap-2">
        <h2 className="text-lg font-semibold">{t('subs.title')}</h2>
        <Subscriptions />
      </section>
      <section className="flex flex-col gap-2">
        <h2 className="text-lg font-semibold">{t('wallet.history')}</h2>
        <History />
      </section>
    </main>
  );
}
