import { useEffect, useState } from 'react';
import { useNavigate } from '@/lib/router';
import { useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { Empty, ErrorNote, Loading } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from './strings';
import { useStore } from '@/store';
import { useBooking, useBookingAction, useBookings, type Booking, type BookingAction } from './hooks';

function actionsFor(b: Booking, asProvider: boolean): BookingAction[] {
  if (asProvider) {
    if (b.state === 'requested') return ['accept', 'decline'];
    if (b.state === 'accepted') return ['complete', 'cancel'];
    return [];
  }
  return b.state === 'requested' || b.state === 'accepted' ? ['cancel'] : [];
}

/** My bookings as a member, and as a provider the requests to answer (phone-first list). */
export default function BookingsPage() {
  const t = useT(strings);
  const lang = useStore((s) => s.lang);
  const { me, pending } = useSignedIn();
  const navigate = useNavigate();
  const provider = !!me?.permissions.includes('services.offer');
  const [as, setAs] = useState<'member' | 'provider'>('member');
  const list = useBookings(as, !!me);
  const act = useBookingAction();
  const [opened, setOpened] = useState<string | null>(null);
  const detail = useBooking(opened);
  useEffect(() => {
    if (!pending && !me) void navigate('/signin?next=/bookings', { replace: true });
  }, [pending, me, navigate]);
  if (pending || !me) return <Loading />;
  return (
    <main className="mx-auto flex w-full max-w-3xl flex-col gap-4 p-4">
      <h1 className="text-2xl font-bold">{t('bookings.title')}</h1>
      {provider && (
        <div role="tablist" className="flex gap-2">
          {(['member', 'provider'] as const).map((k) => (
            <Button key={k} role="tab" aria-selected={as === k} variant={as === k ? 'primary' : 'secondary'} onClick={() => setAs(k)}>
              {t(`bookings.as.${k}`)}
            </Button>
          ))}
        </div>
      )}
      <ErrorNote error={act.error} />
      {act.isSuccess && act.variables.action === 'go-live' && <p role="status" className="text-ok">✓ {t('bookings.action.goLive')}</p>}
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorNote error={list.error} />
      ) : list.data.length === 0 ? (
        <Empty>{t('bookings.empty')}</Empty>
      ) : (
        <ul className="flex flex-col gap-2">
          {list.data.map((b) => (
            <li key={b.id} className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-3" data-booking={b.id} data-state={b.state}>
              <button type="button" className="text-left" onClick={() => setOpened(opened === b.id ? null : b.id)} aria-expanded={opened === b.id}>
                <span className="block font-semibold">{b.serviceTitle} · {b.priceName}</span>
                <span className="block text-sm text-muted">
                  {new Date(b.startsAt).toLocaleString(lang)} · {as === 'provider' ? `@${b.memberHandle}` : `@${b.providerHandle}`} ·{' '}
                  {t('services.tokens', { n: b.price })} · {t(`bookings.state.${b.state}`)}
                </span>
              </button>
              {opened === b.id && detail.data && (
                <p className="text-sm text-muted" data-testid="booking-policy">
                  {t('services.policy', { hours: detail.data.cancellation.freeCancelHours, percent: detail.data.cancellation.lateCancelPercent })}
                  {detail.data.charged !== null && ` · ${t('bookings.charged', { n: detail.data.charged })}`}
                </p>
              )}
              <div className="flex flex-wrap gap-2">
                {actionsFor(b, as === 'provider').map((a) => (
                  <Button key={a} variant={a === 'decline' || a === 'cancel' ? 'secondary' : 'primary'} disabled={act.isPending} onClick={() => act.mutate({ id: b.id, action: a })}>
                    {t(`bookings.action.${a}`)}
                  </Button>
                ))}
                {as === 'provider' && b.state === 'accepted' && me.permissions.includes('stream.publish_limited') && (
                  <Button variant="secondary" disabled={act.isPending} onClick={() => act.mutate({ id: b.id, action: 'go-live' })}>
                    {t('bookings.action.goLive')}
                  </Button>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}
