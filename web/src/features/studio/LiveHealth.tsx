import { useQuery } from '@tanstack/react-query';
import { Activity } from 'lucide-react';
import { api, data } from '@/api/client';
import { useT } from '@/i18n';
import { strings } from './strings';

/** The server's view of my broadcast, polled every 2 s while live. */
export function LiveHealth({ streamId, live }: { streamId: string; live: boolean }) {
  const t = useT(strings);
  const health = useQuery({
    queryKey: ['studio', streamId, 'health'],
    enabled: live,
    refetchInterval: 2_000,
    queryFn: () => data(api.GET('/api/v1/streams/{stream_id}/health', { params: { path: { stream_id: streamId } } })),
  });
  const h = live ? health.data : undefined;
  const rows: [string, string][] = [
    [t('health.bitrate'), h?.bitrateKbps != null ? `${Math.round(h.bitrateKbps)} kbit/s` : '—'],
    [t('health.resolution'), h?.width ? `${h.width}×${h.height}` : '—'],
    [t('health.frameRate'), h?.frameRate != null ? `${h.frameRate} fps` : '—'],
    [t('health.dropped'), h?.droppedFrames != null ? String(h.droppedFrames) : '—'],
    [t('health.viewers'), h ? String(h.viewers + (h.webrtcViewers ?? 0)) : '—'],
  ];
  return (
    <section aria-label={t('health.title')} className="rounded-xl border border-line bg-panel p-3" data-testid="health">
      <h2 className="mb-2 flex items-center gap-2 font-semibold">
        <Activity className="size-4 text-ok" aria-hidden /> {t('health.title')}
      </h2>
      <dl className="grid grid-cols-2 gap-x-3 gap-y-1 text-sm sm:grid-cols-5">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt className="text-xs text-muted">{k}</dt>
            <dd className="font-semibold tabular-nums">{v}</dd>
          </div>
        ))}
      </dl>
      {h && !h.onThisNode && <p className="mt-1 text-xs text-muted">{t('health.otherNode')}</p>}
    </section>
  );
}
