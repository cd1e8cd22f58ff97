import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, Navigate, useNavigate } from '@/lib/router';
import { api, body, data } from '@/api/client';
import { useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { Empty, ErrorNote, Loading, Page } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from './strings';

/** My streams, and a new one (its studio opens at once). */
export default function MyStreamsPage() {
  const t = useT(strings);
  const { me, pending } = useSignedIn();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [title, setTitle] = useState('');
  const streams = useQuery({
    queryKey: ['studio', 'mine', me?.handle],
    enabled: Boolean(me),
    queryFn: () => body(api.GET('/api/v1/streams', { params: { query: { creator: me!.handle, limit: 50 } as never } })),
  });
  const create = useMutation({
    mutationFn: () => data(api.POST('/api/v1/streams', { body: { title, visibility: 'public', recording: false } })),
    onSuccess: (s) => {
      void client.invalidateQueries({ queryKey: ['studio', 'mine'] });
      navigate(`/studio/${s.id}`);
    },
  });
  if (pending) return <Loading />;
  if (!me) return <Navigate to="/signin?next=/studio" replace />;
  return (
    <Page title={t('studio.myStreams')}>
      <form
        className="mb-4 flex flex-wrap items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <label className="flex min-w-0 flex-1 flex-col gap-1 text-sm">
          {t('studio.newStream')}
          <input value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} className="min-h-10 rounded-lg border border-line bg-panel-2 px-2" />
        </label>
        <Button type="submit" disabled={create.isPending}>{t('studio.create')}</Button>
      </form>
      <ErrorNote error={create.error} />
      {streams.isPending ? (
        <Loading />
      ) : streams.isError ? (
        <ErrorNote error={streams.error} />
      ) : streams.data.data.length === 0 ? (
        <Empty>{t('studio.noStreams')}</Empty>
      ) : (
        <ul className="flex flex-col gap-2">
          {streams.data.data.map((s) => (
            <li key={s.id} className="flex items-center justify-between gap-2 rounded-xl border border-line bg-panel p-3">
              <span className="min-w-0">
                <span className="block truncate font-semibold">{s.title}</span>
                <span className="text-xs text-muted">{t(`watch.badge.${s.state === 'live' ? 'live' : s.state === 'ended' ? 'ended' : 'offline'}`)}</span>
              </span>
              <Link className="shrink-0 text-brand underline" to={`/studio/${s.id}`}>{t('studio.open')}</Link>
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}
