import { useState } from 'react';
import { Link } from '@/lib/router';
import { useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { Empty, ErrorNote, Loading } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from './strings';
import { useCreateService, useServices } from './hooks';

const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** A provider publishes a service: title, time zone, cancellation policy, one pricing tier. */
function NewService() {
  const t = useT(strings);
  const create = useCreateService();
  const [title, setTitle] = useState('');
  const [zone, setZone] = useState(ZONE);
  const [tier, setTier] = useState('');
  const [price, setPrice] = useState(50);
  const [hours, setHours] = useState(24);
  const [percent, setPercent] = useState(50);
  const field = 'min-h-10 w-full rounded-lg border border-line bg-panel-2 px-2';
  return (
    <form
      className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-4"
      aria-label={t('services.new')}
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate(
          {
            title,
            timeZone: zone,
            description: '',
            cancellation: { freeCancelHours: hours, lateCancelPercent: percent },
            prices: [{ name: tier || title, price }],
          },
          { onSuccess: () => setTitle('') },
        );
      }}
    >
      <h2 className="font-bold">{t('services.new')}</h2>
      <label className="flex flex-col gap-1 text-sm">
        {t('services.titleField')}
        <input className={field} value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={120} />
      </label>
      <label className="flex flex-col gap-1 text-sm">
        {t('services.zone')}
        <input className={field} value={zone} onChange={(e) => setZone(e.target.value)} required />
      </label>
      <div className="grid grid-cols-2 gap-2">
        <label className="flex flex-col gap-1 text-sm">
          {t('services.tierName')}
          <input className={field} value={tier} onChange={(e) => setTier(e.target.value)} maxLength={80} />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          {t('services.tierPrice')}
          <input className={field} type="number" min={1} value={price} onChange={(e) => setPrice(Number(e.target.value))} />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          {t('services.freeHours')}
          <input className={field} type="number" min={0} max={720} value={hours} onChange={(e) => setHours(Number(e.target.value))} />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          {t('services.latePercent')}
          <input className={field} type="number" min={0} max={100} value={percent} onChange={(e) => setPercent(Number(e.target.value))} />
        </label>
      </div>
      <Button type="submit" disabled={!title || create.isPending}>{t('services.publish')}</Button>
      <ErrorNote error={create.error} />
    </form>
  );
}

/** Provider services anyone can book, and (for providers) the form to publish one. */
export default function ServicesPage() {
  const t = useT(strings);
  const { me } = useSignedIn();
  const services = useServices();
  const provider = me?.permissions.includes('services.offer');
  return (
    <main className="mx-auto flex w-full max-w-3xl flex-col gap-4 p-4">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-2xl font-bold">{t('services.title')}</h1>
        {me && <Link to="/bookings" className="text-brand underline">{t('services.myBookings')}</Link>}
      </div>
      {provider && <NewService />}
      {services.isPending ? (
        <Loading />
      ) : services.isError ? (
        <ErrorNote error={services.error} />
      ) : services.data.length === 0 ? (
        <Empty>{t('services.empty')}</Empty>
      ) : (
        <ul className="flex flex-col gap-2" aria-label={t('services.title')}>
          {services.data.map((s) => (
            <li key={s.id}>
              <Link to={`/services/${s.id}`} className="flex flex-col rounded-xl border border-line bg-panel p-3 hover:border-brand">
                <span className="font-semibold">{s.title}</span>
                <span className="text-sm text-muted">
                  @{s.providerHandle} · {t('services.from', { n: Math.min(...s.prices.map((p) => p.price)) })}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}
