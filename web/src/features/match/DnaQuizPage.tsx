import { useState, type FormEvent } from 'react';
import { Link, Navigate, useNavigate } from '@/lib/router';
import { useDeleteDna, useMyDna, useQuiz, useSaveDna, type DnaOut, type Quiz } from '@/api/ai';
import { useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { Field } from '@/components/ui/Field';
import { ErrorNote, Loading, Page } from '@/components/ui/States';
import { useT, type Key } from '@/i18n';
import { strings as discover } from '@/features/discover/strings';
import { strings } from './strings';
import { useStore } from '@/store';

const LANGUAGES = ['nl', 'en', 'de', 'fr', 'es'] as const;

/** The Erotic DNA quiz: every preference with its 4 levels, the languages I speak, my
 * country; saved answers make my mood profile (shown after saving). */
export default function DnaQuizPage() {
  const t = useT(strings, discover);
  const { me, pending } = useSignedIn();
  const quiz = useQuiz();
  const mine = useMyDna();
  if (pending) return <Loading />;
  if (!me) return <Navigate to="/signin" replace />;
  if (quiz.isPending || mine.isPending) return <Loading />;
  if (quiz.error) return <Page title={t('dna.title')}><ErrorNote error={quiz.error} /></Page>;
  return <QuizForm key={mine.data?.updatedAt ?? 'new'} quiz={quiz.data!} mine={mine.data ?? null} />;
}

function QuizForm({ quiz: q, mine }: { quiz: Quiz; mine: DnaOut | null }) {
  const t = useT(strings, discover);
  const lang = useStore((s) => s.lang);
  const save = useSaveDna();
  const remove = useDeleteDna();
  const navigate = useNavigate();
  const [answers, setAnswers] = useState<Record<string, number>>(mine?.answers ?? {});
  const [languages, setLanguages] = useState<string[]>(mine?.languages ?? []);
  const [country, setCountry] = useState(mine?.country ?? '');
  const [discoverable, setDiscoverable] = useState(mine?.discoverable ?? true);
  const labels = q.levelLabels[lang] ?? q.levelLabels.en ?? [];

  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(
      { answers, languages, country: country.trim().toUpperCase() || null, discoverable },
      { onSuccess: () => void navigate('/match') },
    );
  };

  return (
    <Page title={t('dna.title')}>
      <p className="mb-4 text-sm text-muted">{t('dna.intro')}</p>
      {mine && (
        <p className="mb-4 rounded-lg border border-line bg-panel p-3 text-sm" data-testid="dominant-mood">
          {t('dna.yourMood', { mood: t(`mood.${mine.dominantMood}` as Key) })}
        </p>
      )}
      <form className="flex flex-col gap-4" onSubmit={submit}>
        {q.questions.map((question) => (
          <fieldset key={question.key} className="rounded-xl border border-line bg-panel p-3">
            <legend className="px-1 text-sm font-semibold">{lang === 'nl' ? question.nl : question.en}</legend>
            <div className="grid grid-cols-2 gap-2 sm:grid-cols-4">
              {labels.map((label, level) => (
                <label key={level} className="flex min-h-10 cursor-pointer items-center gap-2 rounded-lg border border-line px-2 py-1 text-sm has-[:checked]:border-brand has-[:checked]:text-brand">
                  <input
                    type="radio"
                    name={question.key}
                    value={level}
                    checked={(answers[question.key] ?? 0) === level}
                    onChange={() => setAnswers((a) => ({ ...a, [question.key]: level }))}
                  />
                  {label}
                </label>
              ))}
            </div>
          </fieldset>
        ))}
        <fieldset className="rounded-xl border border-line bg-panel p-3">
          <legend className="px-1 text-sm font-semibold">{t('dna.languages')}</legend>
          <div className="flex flex-wrap gap-3">
            {LANGUAGES.map((l) => (
              <label key={l} className="flex min-h-10 items-center gap-2 text-sm">
                <input
                  type="checkbox"
                  checked={languages.includes(l)}
                  onChange={(e) => setLanguages((ls) => (e.target.checked ? [...ls, l] : ls.filter((x) => x !== l)))}
                />
                {t(`language.${l}` as Key)}
              </label>
            ))}
          </div>
        </fieldset>
        <Field label={t('dna.country')} hint={t('dna.countryHint')} maxLength={2} value={country} onChange={(e) => setCountry(e.target.value)} />
        <label className="flex min-h-10 items-center gap-2 text-sm">
          <input type="checkbox" checked={discoverable} onChange={(e) => setDiscoverable(e.target.checked)} />
          {t('dna.discoverable')}
        </label>
        <ErrorNote error={save.error ?? remove.error} />
        <div className="flex flex-wrap gap-2">
          <Button type="submit" disabled={save.isPending}>{t('dna.save')}</Button>
          {mine && (
            <Button variant="danger" disabled={remove.isPending} onClick={() => remove.mutate(undefined, { onSuccess: () => setAnswers({}) })}>
              {t('dna.delete')}
            </Button>
          )}
          <Link to="/match" className="inline-flex min-h-10 items-center px-2 text-sm underline">{t('dna.toMatches')}</Link>
        </div>
      </form>
    </Page>
  );
}
