import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Lock, Ticket } from 'lucide-react';
import { api, data, idempotencyKey } from '@/api/client';
import { keys } from '@/api/keys';
import { Button } from '@/components/ui/Button';
import { ErrorNote } from '@/components/ui/States';
import { useT } from '@/i18n';
import { useStore } from '@/store';

/** What the stream sells besides tips: a private show at the creator's price, a ticket show. */
export function ShowsPanel({ streamId }: { streamId: string }) {
  const t = useT();
  const me = useStore((s) => s.me);
  const client = useQueryClient();
  const shows = useQuery({
    queryKey: keys.shows(streamId),
    queryFn: () => data(api.GET('/api/v1/streams/{stream_id}/shows', { params: { path: { stream_id: streamId } } })),
  });
  const requestPrivate = useMutation({
    mutationFn: (price: number) =>
      data(
        api.POST('/api/v1/streams/{stream_id}/private-shows', {
          params: { path: { stream_id: streamId } },
          body: { pricePerMinute: price },
        }),
      ),
  });
  const buyTicket = useMutation({
    mutationFn: (showId: string) =>
      data(
        api.POST('/api/v1/ticket-shows/{show_id}/tickets', {
          params: { path: { show_id: showId }, header: { 'Idempotency-Key': idempotencyKey() } },
        }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.balance }),
  });
  const s = shows.data;
  if (!s) return <ErrorNote error={shows.error} />;
  const ticket = s.ticketShow;
  return (
    <div className="flex flex-col gap-3 text-sm" data-testid="shows">
      {s.privatePricePerMinute ? (
        <div className="flex flex-wrap items-center gap-2">
          <Lock className="size-4 text-brand" aria-hidden />
          <span>{t('shows.privatePrice', { n: s.privatePricePerMinute })}</span>
          <Button variant="secondary" disabled={!me || s.privateShowRunning || requestPrivate.isPending} onClick={() => requestPrivate.mutate(s.privatePricePerMinute!)}>
            {t('shows.requestPrivate')}
          </Button>
          {requestPrivate.isSuccess && <span role="status" className="text-ok">{t('shows.requested')}</span>}
        </div>
      ) : (
        <p className="text-muted">{t('shows.noPrivate')}</p>
      )}
      {ticket && (ticket.state === 'announced' || ticket.state === 'running') && (
        <div className="flex flex-wrap items-center gap-2">
          <Ticket className="size-4 text-warn" aria-hidden />
          <span>{t('shows.ticket', { title: ticket.title, n: ticket.price })}</span>
          <Button variant="secondary" disabled={!me || buyTicket.isPending} onClick={() => buyTicket.mutate(ticket.id)}>
            {t('shows.buyTicket')}
          </Button>
          {buyTicket.isSuccess && <span role="status" className="text-ok">{t('shows.ticketBought')}</span>}
        </div>
      )}
      <ErrorNote error={requestPrivate.error ?? buyTicket.error} />
    </div>
  );
}
