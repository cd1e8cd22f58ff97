import { Heart, X } from 'lucide-react';
import { useEffect, useState } from 'react';
import { Link, Navigate } from '@/lib/router';
import { useBlock, useMatches, useMyDna, useSuggestions, useSwipe, useUnmatch, type Suggestion, type SuggestionFilters } from '@/api/ai';
import { useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { Empty, ErrorNote, Loading, Page } from '@/components/ui/States';
import { useT, type Key } from '@/i18n';
import { strings as discover } from '@/features/discover/strings';
import { strings } from './strings';

function Why({ s }: { s: Suggestion }) {
  const t = useT(strings, discover);
  const lines: string[] = [];
  if (s.why.mood) lines.push(t('match.whyMood', { mood: t(`mood.${s.why.mood}` as Key) }));
  if (s.why.shared.length) lines.push(t('match.whyShared', { n: s.why.shared.length }));
  if (s.why.complements.length) lines.push(t('match.whyComplements'));
  if (s.why.languages.length) lines.push(t('match.whyLanguages', { languages: s.why.languages.map((l) => l.toUpperCase()).join(', ') }));
  return (
    <ul className="list-inside list-disc text-sm text-muted" aria-label={t('match.why')}>
      {lines.map((l) => (
        <li key={l}>{l}</li>
      ))}
    </ul>
  );
}

/** One suggestion at a time: like or pass (buttons, or the arrow keys); two likes make a match. */
export default function MatchPage() {
  const t = useT(strings, discover);
  const { me, pending } = useSignedIn();
  const dna = useMyDna();
  const full = Boolean(me?.permissions.includes('ai.full'));
  const [filters, setFilters] = useState<SuggestionFilters>({ country: '', language: '' });
  const suggestions = useSuggestions(Boolean(dna.data), full ? filters : null);
  const matches = useMatches();
  const swipe = useSwipe();
  const block = useBlock();
  const unmatch = useUnmatch();
  const [matched, setMatched] = useState<string | null>(null);
  const current = suggestions.data?.[0];

  const decide = (action: 'like' | 'pass') => {
    if (!current || swipe.isPending) return;
    swipe.mutate(
      { handle: current.handle, action },
      { onSuccess: (r) => setMatched(r.newMatch ? current.handle : null) },
    );
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.target instanceof HTMLInputElement) return;
      if (e.key === 'ArrowRight') decide('like');
      if (e.key === 'ArrowLeft') decide('pass');
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  if (pending) return <Loading />;
  if (!me) return <Navigate to="/signin" replace />;
  if (dna.isPending) return <Loading />;
  if (!dna.data) {
    return (
      <Page title={t('match.title')}>
        <Empty>
          {t('match.needQuiz')}{' '}
          <Link to="/match/dna" className="text-brand underline">{t('match.takeQuiz')}</Link>
        </Empty>
      </Page>
    );
  }
  return (
    <Page title={t('match.title')}>
      <p className="mb-3 text-sm">
        <Link to="/match/dna" className="underline">{t('match.editQuiz')}</Link>
      </p>
      {matched && (
        <p role="status" className="mb-3 rounded-lg border border-brand bg-brand/10 p-3 font-semibold">
          {t('match.itsAMatch', { handle: matched })}
        </p>
      )}
      {full && (
        <form className="mb-3 flex flex-wrap items-end gap-3 text-sm" aria-label={t('match.filters')} onSubmit={(e) => e.preventDefault()}>
          <label className="flex flex-col gap-1">
            {t('match.country')}
            <input
              className="min-h-10 w-24 rounded-lg border border-line bg-panel-2 px-2"
              maxLength={2}
              value={filters.country}
              onChange={(e) => setFilters((f) => ({ ...f, country: /^[A-Za-z]{2}$/.test(e.target.value) || !e.target.value ? e.target.value : f.country }))}
            />
          </label>
          <label className="flex flex-col gap-1">
            {t('match.language')}
            <select className="min-h-10 rounded-lg border border-line bg-panel-2 px-2" value={filters.language} onChange={(e) => setFilters((f) => ({ ...f, language: e.target.value }))}>
              <option value="">{t('discover.any')}</option>
              {(['nl', 'en', 'de', 'fr', 'es'] as const).map((l) => (
                <option key={l} value={l}>{t(`language.${l}` as Key)}</option>
              ))}
            </select>
          </label>
        </form>
      )}
      <ErrorNote error={suggestions.error ?? swipe.error ?? block.error ?? unmatch.error} />
      {suggestions.isPending ? (
        <Loading />
      ) : current ? (
        <section aria-label={t('match.suggestion')} className="flex flex-col gap-3 rounded-2xl border border-line bg-panel p-4" data-testid="suggestion">
          <div className="flex items-baseline justify-between gap-2">
            <Link to={`/u/${current.handle}`} className="text-xl font-bold hover:underline">@{current.handle}</Link>
            <span className="text-sm text-brand">{t('match.score', { n: Math.round(current.matchScore * 100) })}</span>
          </div>
          <p className="text-sm">
            {current.creator ? t('match.creator') : t('match.member')} · {t(`mood.${current.dominantMood}` as Key)}
            {current.country ? ` · ${current.country}` : ''}
          </p>
          <Why s={current} />
          <div className="flex gap-3">
            <Button variant="secondary" className="flex-1" onClick={() => decide('pass')} disabled={swipe.isPending}>
              <X className="size-4" aria-hidden /> {t('match.pass')}
            </Button>
            <Button className="flex-1" onClick={() => decide('like')} disabled={swipe.isPending}>
              <Heart className="size-4" aria-hidden /> {t('match.like')}
            </Button>
          </div>
          <p className="text-xs text-muted">{t('match.keys')}</p>
          <Button variant="ghost" className="self-start" onClick={() => block.mutate(current.handle)} disabled={block.isPending}>
            {t('match.block', { handle: current.handle })}
          </Button>
        </section>
      ) : (
        <Empty>{t('match.noneLeft')}</Empty>
      )}
      <h2 className="mb-2 mt-6 text-lg font-semibold">{t('match.yourMatches')}</h2>
      {matches.data && matches.data.length > 0 ? (
        <ul className="flex flex-col gap-2" data-testid="matches">
          {matches.data.map((m) => (
            <li key={m.id} className="flex items-center justify-between rounded-lg border border-line bg-panel p-2 text-sm">
              <Link to={`/u/${m.handle}`} className="font-semibold hover:underline">@{m.handle}</Link>
              <span className="flex items-center gap-2">
                <span className="text-muted">{t('match.score', { n: Math.round(m.matchScore * 100) })}</span>
                <Button variant="ghost" onClick={() => unmatch.mutate(m.id)} disabled={unmatch.isPending} aria-label={t('match.unmatch', { handle: m.handle })}>
                  {t('match.unmatchShort')}
                </Button>
              </span>
            </li>
          ))}
        </ul>
      ) : (
        <Empty>{t('match.noMatches')}</Empty>
      )}
    </Page>
  );
}
