import { Radio } from 'lucide-react';
import { useState } from 'react';
import { Link, Navigate } from '@/lib/router';
import { useVibeSearch, type VibeFilters, type VibeHit } from '@/api/ai';
import { useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { Empty, ErrorNote, Loading, Page } from '@/components/ui/States';
import { useT, type Key } from '@/i18n';
import { strings } from './strings';

function target(hit: VibeHit): string {
  if (hit.kind === 'stream') return `/watch/${hit.id}`;
  return hit.handle ? `/u/${hit.handle}` : '/';
}

/** Search rooms, creators and posts by what a free text means ("chill cosy chat"). */
export default function VibePage() {
  const t = useT(strings);
  const { me, pending } = useSignedIn();
  const [text, setText] = useState('');
  const [filters, setFilters] = useState<VibeFilters>({ q: '', kind: 'all', live: false });
  const results = useVibeSearch(filters);
  if (pending) return <Loading />;
  if (!me) return <Navigate to="/signin" replace />;
  return (
    <Page title={t('vibe.title')}>
      <form
        role="search"
        className="mb-4 flex flex-col gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters((f) => ({ ...f, q: text.trim() }));
        }}
      >
        <label className="text-sm font-medium" htmlFor="vibe-q">{t('vibe.query')}</label>
        <div className="flex gap-2">
          <input
            id="vibe-q"
            type="search"
            maxLength={200}
            placeholder={t('vibe.placeholder')}
            className="min-h-10 flex-1 rounded-lg border border-line bg-panel-2 px-3 py-2"
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
          <Button type="submit">{t('vibe.search')}</Button>
        </div>
        <div className="flex flex-wrap items-center gap-3 text-sm">
          <label className="flex items-center gap-1">
            {t('vibe.kind')}
            <select
              className="rounded-md border border-line bg-panel-2 px-2 py-1"
              value={filters.kind}
              onChange={(e) => setFilters((f) => ({ ...f, kind: e.target.value as VibeFilters['kind'] }))}
            >
              {(['all', 'stream', 'creator', 'post'] as const).map((k) => (
                <option key={k} value={k}>{t(`vibe.kind.${k}` as Key)}</option>
              ))}
            </select>
          </label>
          <label className="flex min-h-10 items-center gap-2">
            <input type="checkbox" checked={filters.live} onChange={(e) => setFilters((f) => ({ ...f, live: e.target.checked }))} />
            {t('vibe.liveOnly')}
          </label>
        </div>
      </form>
      <ErrorNote error={results.error} />
      {!filters.q ? (
        <Empty>{t('vibe.hint')}</Empty>
      ) : results.isPending ? (
        <Loading />
      ) : results.data && results.data.data.length > 0 ? (
        <ul className="flex flex-col gap-2" data-testid="vibe-results">
          {results.data.data.map((hit) => (
            <li key={`${hit.kind}-${hit.id}`}>
              <Link to={target(hit)} className="flex items-center justify-between gap-2 rounded-lg border border-line bg-panel p-3 hover:border-brand">
                <span className="min-w-0">
                  <span className="block truncate font-semibold">{hit.title}</span>
                  <span className="text-xs text-muted">
                    {t(`vibe.kind.${hit.kind}` as Key)}
                    {hit.handle ? ` · @${hit.handle}` : ''}
                  </span>
                </span>
                <span className="flex shrink-0 items-center gap-2 text-xs">
                  {hit.live && (
                    <span className="flex items-center gap-1 text-red-400">
                      <Radio className="size-3" aria-hidden /> {t('vibe.live')}
                    </span>
                  )}
                  <span className="text-muted">{t('vibe.fit', { n: Math.round(Math.max(0, hit.score) * 100) })}</span>
                </span>
              </Link>
            </li>
          ))}
        </ul>
      ) : (
        <Empty>{t('vibe.none')}</Empty>
      )}
    </Page>
  );
}
