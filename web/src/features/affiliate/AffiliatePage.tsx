/** The affiliate dashboard: my referral code and link, clicks / sign-ups / conversions /
 * earnings per period (the API reads them from the ledger), and a payout of the earnings. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, data, idempotencyKey } from '@/api/client';
import { keys } from '@/api/keys';
import { useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { card, Select } from '@/components/ui/Console';
import { Field } from '@/components/ui/Field';
import { ErrorNote, Loading, Page } from '@/components/ui/States';
import { useStrings } from '@/i18n';
import { strings } from './strings';

type By = 'day' | 'week' | 'month';
const PERIODS = ['7d', '30d', '90d', '365d'] as const;

export default function AffiliatePage() {
  const s = useStrings(strings);
  const client = useQueryClient();
  const { me, pending } = useSignedIn();
  const [period, setPeriod] = useState<(typeof PERIODS)[number]>('30d');
  const [by, setBy] = useState<By>('day');
  const [copied, setCopied] = useState(false);
  const [amount, setAmount] = useState('');
  const code = useQuery({
    queryKey: keys.affiliate,
    queryFn: () => data(api.POST('/api/v1/affiliates/code')),
    enabled: !!me,
    staleTime: Infinity,
  });
  const stats = useQuery({
    queryKey: keys.affiliateStats(period, by),
    queryFn: () => data(api.GET('/api/v1/affiliates/stats', { params: { query: { period, by } } })),
    enabled: !!me,
  });
  const earnings = useQuery({
    queryKey: ['affiliate', 'earnings'],
    queryFn: () => data(api.GET('/api/v1/creators/me/earnings')),
    enabled: !!me,
  });
  const payout = useMutation({
    mutationFn: () =>
      data(api.POST('/api/v1/payouts', { params: { header: { 'Idempotency-Key': idempotencyKey() } }, body: { amount: Number(amount) } })),
    onSuccess: () => {
      setAmount('');
      void client.invalidateQueries({ queryKey: ['affiliate', 'earnings'] });
    },
  });
  if (pending) return <Loading />;
  if (!me) return <Page title={s('title')}>{s('signIn')}</Page>;
  const st = stats.data;
  return (
    <Page title={s('title')} wide>
      <p className="text-muted">{s('intro')}</p>
      <section className={card} aria-labelledby="aff-code">
        <h2 id="aff-code" className="font-semibold">
          {s('code')}
        </h2>
        {code.isPending && <Loading />}
        <ErrorNote error={code.error} />
        {code.data && (
          <div className="flex flex-col gap-2">
            <p className="font-mono text-2xl font-bold tracking-widest" data-testid="affiliate-code">
              {code.data.code}
            </p>
            <p className="break-all text-sm">
              {s('link')}: <span data-testid="affiliate-link">{code.data.link}</span>
            </p>
            <Button
              type="button"
              onClick={() => {
                void navigator.clipboard?.writeText(code.data.link).then(() => setCopied(true), () => undefined);
              }}
            >
              {copied ? s('copied') : s('copy')}
            </Button>
          </div>
        )}
      </section>
      <section className={card} aria-labelledby="aff-stats">
        <h2 id="aff-stats" className="font-semibold">
          {s('stats')}
        </h2>
        <div className="flex flex-wrap gap-2">
          <Select label={s('period')} value={period} onChange={(e) => setPeriod(e.target.value as (typeof PERIODS)[number])}>
            {PERIODS.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </Select>
          <Select label={s('by')} value={by} onChange={(e) => setBy(e.target.value as By)}>
            {(['day', 'week', 'month'] as const).map((b) => (
              <option key={b} value={b}>
                {s(`by.${b}`)}
              </option>
            ))}
          </Select>
        </div>
        {stats.isPending && <Loading />}
        <ErrorNote error={stats.error} />
        {st && (
          <div className="overflow-x-auto">
            <table className="w-full text-sm">
              <thead>
                <tr className="text-left text-muted">
                  <th scope="col">{s('start')}</th>
                  <th scope="col" className="text-right">{s('clicks')}</th>
                  <th scope="col" className="text-right">{s('signups')}</th>
                  <th scope="col" className="text-right">{s('conversions')}</th>
                  <th scope="col" className="text-right">{s('earnings')}</th>
                </tr>
              </thead>
              <tbody>
                <tr className="font-semibold" data-testid="affiliate-totals">
                  <th scope="row" className="text-left">{s('total')}</th>
                  <td className="text-right">{st.clicks}</td>
                  <td className="text-right">{st.signups}</td>
                  <td className="text-right">{st.conversions}</td>
                  <td className="text-right">{s('tokens', { n: st.earnings })}</td>
                </tr>
                {[...st.periods].reverse().map((p) => (
                  <tr key={p.start}>
                    <th scope="row" className="text-left font-normal">{new Date(p.start).toLocaleDateString()}</th>
                    <td className="text-right">{p.clicks}</td>
                    <td className="text-right">{p.signups}</td>
                    <td className="text-right">{p.conversions}</td>
                    <td className="text-right">{p.earnings}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className={card} aria-labelledby="aff-payout">
        <h2 id="aff-payout" className="font-semibold">
          {s('payout')}
        </h2>
        {earnings.data && <p>{s('available', { n: earnings.data.available })}</p>}
        <form
          className="flex flex-wrap items-end gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            payout.mutate();
          }}
        >
          <Field label={s('amount')} type="number" inputMode="numeric" min={1} value={amount} onChange={(e) => setAmount(e.target.value)} />
          <Button type="submit" disabled={!amount || payout.isPending}>
            {s('payout')}
          </Button>
        </form>
        <ErrorNote error={payout.error} />
        {payout.data && <p role="status">{s('requested', { n: payout.data.payout.amount })}</p>}
      </section>
    </Page>
  );
}
