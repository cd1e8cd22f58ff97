import { useState } from 'react';
import { Link, useParams } from '@/lib/router';
import { useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { Empty, ErrorNote, Loading } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from './strings';
import { useAddSlot, useBook, useService, useSetActive, useSlots, type Slot } from './hooks';

/** The day of a slot in the provider's zone (its `startsLocal` is that zone's wall clock). */
function day(slot: Slot): string {
  return slot.startsLocal.slice(0, 10);
}

function AddSlot({ serviceId, zone }: { serviceId: string; zone: string }) {
  const t = useT(strings);
  const add = useAddSlot(serviceId);
  const [start, setStart] = useState('');
  const [minutes, setMinutes] = useState(60);
  const field = 'min-h-10 w-full rounded-lg border border-line bg-panel-2 px-2';
  return (
    <form
      className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-3"
      aria-label={t('services.addSlot')}
      onSubmit={(e) => {
        e.preventDefault();
        add.mutate({ start, durationMinutes: minutes }, { onSuccess: () => setStart('') });
      }}
    >
      <h2 className="font-bold">{t('services.addSlot')}</h2>
      <label className="flex flex-col gap-1 text-sm">
        {t('services.slotStart', { zone })}
        <input className={field} type="datetime-local" value={start} onChange={(e) => setStart(e.target.value)} required />
      </label>
      <label className="flex flex-col gap-1 text-sm">
        {t('services.slotMinutes')}
        <input className={field} type="number" min={5} max={1440} value={minutes} onChange={(e) => setMinutes(Number(e.target.value))} />
      </label>
      <Button type="submit" disabled={!start || add.isPending}>{t('services.addSlot')}</Button>
      <ErrorNote error={add.error} />
    </form>
  );
}

/** One service: pricing tiers, the cancellation policy, and its booking calendar. */
export default function ServicePage() {
  const t = useT(strings);
  const { serviceId = '' } = useParams();
  const { me } = useSignedIn();
  const service = useService(serviceId);
  const slots = useSlots(serviceId);
  const book = useBook(serviceId);
  const active = useSetActive(serviceId);
  const [priceId, setPriceId] = useState<string | null>(null);
  const [slotId, setSlotId] = useState<string | null>(null);
  if (service.isPending) return <Loading />;
  if (service.isError) return <ErrorNote error={service.error} className="m-4" />;
  const s = service.data;
  const mine = me?.id === s.providerId;
  const chosenPrice = priceId ?? s.prices[0]?.id ?? null;
  const days = new Map<string, Slot[]>();
  for (const slot of slots.data ?? []) days.set(day(slot), [...(days.get(day(slot)) ?? []), slot]);
  return (
    <main className="mx-auto flex w-full max-w-3xl flex-col gap-4 p-4">
      <Link to="/services" className="text-sm text-brand underline">{t('common.back')}</Link>
      <h1 className="text-2xl font-bold">{s.title}</h1>
      <p className="text-muted">@{s.providerHandle} · {s.timeZone}</p>
      <p className="rounded-lg border border-line bg-panel p-3 text-sm" data-testid="policy">
        {t('services.policy', { hours: s.cancellation.freeCancelHours, percent: s.cancellation.lateCancelPercent })}
      </p>
      <fieldset className="flex flex-col gap-2">
        <legend className="font-bold">{t('services.tiers')}</legend>
        {s.prices.map((p) => (
          <label key={p.id} className="flex min-h-10 items-center gap-2 rounded-lg border border-line bg-panel px-3">
            <input type="radio" name="price" checked={chosenPrice === p.id} onChange={() => setPriceId(p.id)} />
            <span className="flex-1">{p.name}</span>
            <span className="font-semibold">{t('services.tokens', { n: p.price })}</span>
          </label>
        ))}
      </fieldset>
      <section aria-label={t('services.calendar')} className="flex flex-col gap-3">
        <h2 className="font-bold">{t('services.calendar')}</h2>
        {slots.isPending ? (
          <Loading />
        ) : days.size === 0 ? (
          <Empty>{t('services.noSlots')}</Empty>
        ) : (
          [...days.entries()].map(([d, list]) => (
            <div key={d}>
              <h3 className="text-sm font-semibold text-muted">{d}</h3>
              <div className="flex flex-wrap gap-2">
                {list.map((slot) => (
                  <button
                    key={slot.id}
                    type="button"
                    disabled={slot.booked || mine}
                    aria-pressed={slotId === slot.id}
                    onClick={() => setSlotId(slot.id)}
                    className="min-h-10 rounded-lg border border-line bg-panel-2 px-3 text-sm aria-pressed:border-brand aria-pressed:text-brand disabled:line-through disabled:opacity-50"
                    data-slot={slot.id}
                  >
                    {slot.startsLocal.slice(11, 16)} {slot.booked ? t('services.booked') : ''}
                  </button>
                ))}
              </div>
            </div>
          ))
        )}
      </section>
      {me && !mine && (
        <Button
          disabled={!slotId || !chosenPrice || book.isPending}
          onClick={() => slotId && chosenPrice && book.mutate({ slotId, priceId: chosenPrice }, { onSuccess: () => setSlotId(null) })}
        >
          {t('services.book')}
        </Button>
      )}
      {book.isSuccess && (
        <p role="status" className="text-ok">
          {t('services.bookedNote', { n: book.data.price })} <Link to="/bookings" className="underline">{t('services.myBookings')}</Link>
        </p>
      )}
      <ErrorNote error={book.error ?? active.error} />
      {mine && (
        <>
          <AddSlot serviceId={s.id} zone={s.timeZone} />
          <label className="flex min-h-10 items-center gap-2">
            <input type="checkbox" checked={s.active} onChange={() => active.mutate(!s.active)} />
            {t('services.publish')}
          </label>
        </>
      )}
    </main>
  );
}
