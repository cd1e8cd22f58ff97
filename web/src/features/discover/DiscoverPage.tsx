import { Search } from 'lucide-react';
import { useState } from 'react';
import { Link } from '@/lib/router';
import { useLiveStreams, type StreamFilters, type StreamOut } from '@/api/queries';
import { Empty, ErrorNote, Loading } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from './strings';

const LANGUAGES = ['nl', 'en', 'de', 'fr', 'es'] as const;

function StreamCard({ stream }: { stream: StreamOut }) {
  const t = useT(strings);
  return (
    <li>
      <Link
        to={`/watch/${stream.id}`}
        className="group block overflow-hidden rounded-xl border border-line bg-panel hover:border-brand"
      >
        <div className="relative aspect-video bg-panel-2">
          {stream.posterUrl && (
            <img src={stream.posterUrl} alt="" loading="lazy" className="size-full object-cover" />
          )}
          <span className="absolute left-2 top-2 rounded bg-live px-2 py-0.5 text-xs font-bold uppercase text-white">
            {t('watch.live')}
          </span>
          {typeof stream.viewers === 'number' && (
            <span className="absolute bottom-2 right-2 rounded bg-black/70 px-2 py-0.5 text-xs" data-testid="viewers">
              {t('watch.watching', { n: stream.viewers })}
            </span>
          )}
        </div>
        <div className="p-3">
          <p className="truncate font-semibold group-hover:text-brand">{stream.title}</p>
          <p className="truncate text-sm text-muted">@{stream.creatorHandle}</p>
          {stream.tags && stream.tags.length > 0 && (
            <p className="mt-1 flex flex-wrap gap-1">
              {stream.tags.map((tag) => (
                <span key={tag} className="rounded-full bg-panel-2 px-2 py-0.5 text-xs text-muted">#{tag}</span>
              ))}
            </p>
          )}
        </div>
      </Link>
    </li>
  );
}

export default function DiscoverPage() {
  const t = useT(strings);
  const [q, setQ] = useState('');
  const [rating, setRating] = useState<StreamFilters['rating'] | ''>('');
  const [language, setLanguage] = useState('');
  const [tag, setTag] = useState('');
  const cleanTag = tag.trim().toLowerCase().replace(/^#/, '');
  const filters: StreamFilters = {
    q: q.trim() || undefined,
    rating: rating || undefined,
    language: language || undefined,
    tag: /^[a-z0-9][a-z0-9-]{0,29}$/.test(cleanTag) ? cleanTag : undefined,
  };
  const streams = useLiveStreams(filters);
  return (
    <main className="mx-auto w-full max-w-6xl p-4">
      <h1 className="mb-4 text-2xl font-bold">{t('discover.title')}</h1>
      <form role="search" className="mb-4 flex flex-wrap gap-2" onSubmit={(e) => e.preventDefault()}>
        <label className="flex min-w-0 flex-1 items-center gap-2 rounded-lg border border-line bg-panel-2 px-3">
          <Search className="size-4 text-muted" aria-hidden />
          <span className="sr-only">{t('discover.search')}</span>
          <input
            type="search"
            value={q}
            onChange={(e) => setQ(e.target.value)}
            placeholder={t('discover.searchPlaceholder')}
            className="min-h-10 w-full min-w-0 bg-transparent outline-none"
          />
        </label>
        <label className="flex items-center gap-2 text-sm">
          <span>{t('discover.rating')}</span>
          <select
            value={rating}
            onChange={(e) => setRating(e.target.value as StreamFilters['rating'] | '')}
            className="min-h-10 rounded-lg border border-line bg-panel-2 px-2"
          >
            <option value="">{t('discover.any')}</option>
            <option value="sfw">{t('rating.sfw')}</option>
            <option value="adult">{t('rating.adult')}</option>
          </select>
        </label>
        <label className="flex items-center gap-2 text-sm">
          <span>{t('discover.language')}</span>
          <select value={language} onChange={(e) => setLanguage(e.target.value)} className="min-h-10 rounded-lg border border-line bg-panel-2 px-2">
            <option value="">{t('discover.any')}</option>
            {LANGUAGES.map((l) => (
              <option key={l} value={l}>{t(`language.${l}`)}</option>
            ))}
          </select>
        </label>
        <label className="flex items-center gap-2 text-sm">
          <span>{t('discover.tag')}</span>
          <input value={tag} onChange={(e) => setTag(e.target.value)} placeholder="#" className="min-h-10 w-28 rounded-lg border border-line bg-panel-2 px-2" />
        </label>
      </form>
      {streams.isPending ? (
        <Loading />
      ) : streams.isError ? (
        <ErrorNote error={streams.error} />
      ) : streams.data.data.length === 0 ? (
        <Empty>{t('discover.empty')}</Empty>
      ) : (
        <ul className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3" aria-label={t('discover.title')}>
          {streams.data.data.map((s) => (
            <StreamCard key={s.id} stream={s} />
          ))}
        </ul>
      )}
    </main>
  );
}
