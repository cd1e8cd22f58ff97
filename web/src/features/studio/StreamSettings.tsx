import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, data } from '@/api/client';
import { keys } from '@/api/keys';
import type { StreamOut } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { ErrorNote } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings as discover } from '@/features/discover/strings';
import { strings } from './strings';

export const MOODS = ['calm', 'playful', 'flirty', 'intense', 'chill', 'dreamy', 'energetic', 'mysterious'] as const;
const VISIBILITIES = ['public', 'followers', 'subscribers', 'ticketed'] as const;
const LANGUAGES = ['', 'nl', 'en', 'de', 'fr', 'es'] as const;

/** Title, visibility, recording, tags, language, the mood colour and where the stream is
 * not available (geo-blocks). The rating is a moderator's call: shown, not edited here. */
export function StreamSettings({ stream }: { stream: StreamOut }) {
  const t = useT(strings, discover);
  const client = useQueryClient();
  const id = stream.id;
  const [title, setTitle] = useState(stream.title);
  const [visibility, setVisibility] = useState(stream.visibility);
  const [recording, setRecording] = useState(stream.recording);
  const [tags, setTags] = useState((stream.tags ?? []).join(', '));
  const [language, setLanguage] = useState(stream.language ?? '');
  const [mood, setMood] = useState<string | null>(stream.mood ?? null);
  const safety = useQuery({
    queryKey: ['studio', id, 'safety'],
    retry: false,
    queryFn: () => data(api.GET('/api/v1/streams/{stream_id}/safety', { params: { path: { stream_id: id } } })),
  });
  const blocks = useQuery({
    queryKey: ['studio', id, 'geo-blocks'],
    queryFn: () => data(api.GET('/api/v1/streams/{stream_id}/geo-blocks', { params: { path: { stream_id: id } } })),
  });
  const [places, setPlaces] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: () =>
      data(
        api.PATCH('/api/v1/streams/{stream_id}', {
          params: { path: { stream_id: id } },
          body: {
            title,
            visibility,
            recording,
            tags: tags.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean),
            language: language || null,
            mood: (mood as (typeof MOODS)[number] | null) ?? null,
          },
        }),
      ),
    onSuccess: (s) => client.setQueryData(keys.stream(id), s),
  });
  const saveBlocks = useMutation({
    mutationFn: (list: string[]) =>
      data(api.PUT('/api/v1/streams/{stream_id}/geo-blocks', { params: { path: { stream_id: id } }, body: { places: list } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ['studio', id, 'geo-blocks'] }),
  });
  const placesText = places ?? (blocks.data?.places ?? []).join(', ');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  const input = 'min-h-10 rounded-lg border border-line bg-panel-2 px-2';
  return (
    <section aria-labelledby="settings-title" className="flex flex-col gap-3 rounded-xl border border-line bg-panel p-3">
      <h2 id="settings-title" className="font-semibold">{t('settings.title')}</h2>
      <form onSubmit={submit} className="grid gap-3 sm:grid-cols-2">
        <label className="flex flex-col gap-1 text-sm sm:col-span-2">
          {t('settings.streamTitle')}
          <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} required className={input} />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          {t('settings.visibility')}
          <select value={visibility} onChange={(e) => setVisibility(e.target.value as typeof visibility)} className={input}>
            {VISIBILITIES.map((v) => (
              <option key={v} value={v}>{t(`visibility.${v}`)}</option>
            ))}
          </select>
        </label>
        <label className="flex flex-col gap-1 text-sm">
          {t('discover.language')}
          <select value={language} onChange={(e) => setLanguage(e.target.value)} className={input}>
            {LANGUAGES.map((l) => (
              <option key={l} value={l}>{l ? t(`language.${l}`) : t('settings.noLanguage')}</option>
            ))}
          </select>
        </label>
        <label className="flex flex-col gap-1 text-sm sm:col-span-2">
          {t('settings.tags')}
          <input value={tags} onChange={(e) => setTags(e.target.value)} placeholder="music, chill" className={input} />
        </label>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={recording} onChange={(e) => setRecording(e.target.checked)} className="size-5" />
          {t('settings.recording')}
        </label>
        {safety.data && (
          <p className="text-sm text-muted">{t('settings.rating', { rating: t(`rating.${safety.data.rating}`) })}</p>
        )}
        <fieldset className="sm:col-span-2">
          <legend className="mb-1 text-sm">{t('settings.mood')}</legend>
          <div className="flex flex-wrap gap-2" role="radiogroup">
            {MOODS.map((m) => (
              <label key={m} className="flex items-center gap-1 rounded-full border border-line px-2 py-1 text-xs has-checked:border-brand">
                <input type="radio" name="mood" value={m} checked={mood === m} onChange={() => setMood(m)} className="sr-only" />
                <span className="size-4 rounded-full" style={{ background: `var(--color-mood-${m})` }} aria-hidden />
                {t(`mood.${m}`)}
              </label>
            ))}
            <button type="button" className="rounded-full border border-line px-2 py-1 text-xs" onClick={() => setMood(null)}>
              {t('settings.noMood')}
            </button>
          </div>
        </fieldset>
        <Button type="submit" disabled={save.isPending} className="sm:col-span-2">{t('settings.save')}</Button>
        {save.isSuccess && <p role="status" className="text-sm text-ok sm:col-span-2">{t('settings.saved')}</p>}
        <ErrorNote error={save.error} className="sm:col-span-2" />
      </form>
      <form
        className="flex flex-wrap items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          saveBlocks.mutate(placesText.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean));
        }}
      >
        <label className="flex min-w-0 flex-1 flex-col gap-1 text-sm">
          {t('settings.geoBlocks')}
          <input value={placesText} onChange={(e) => setPlaces(e.target.value)} placeholder="US-TX, GB" className={input} />
        </label>
        <Button type="submit" variant="secondary" disabled={saveBlocks.isPending}>{t('settings.saveBlocks')}</Button>
        <ErrorNote error={saveBlocks.error} className="w-full" />
      </form>
    </section>
  );
}
