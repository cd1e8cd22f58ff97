import { useState } from 'react';
import { Navigate } from '@/lib/router';
import { useCoach } from '@/api/companions';
import { useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { Empty, ErrorNote, Loading, Page } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from './strings';

/** Before posting: the coach's report on a picture, each verdict with the number behind it. */
export default function CoachPage() {
  const t = useT(strings);
  const { me, pending } = useSignedIn();
  const coach = useCoach();
  const [file, setFile] = useState<File | null>(null);
  const [caption, setCaption] = useState('');
  if (pending) return <Loading />;
  if (!me) return <Navigate to="/signin" replace />;
  if (!me.permissions.includes('upload')) return <Page title={t('coach.title')}><Empty>{t('coach.notAllowed')}</Empty></Page>;
  const report = coach.data;
  return (
    <Page title={t('coach.title')}>
      <form
        className="mb-4 flex flex-col gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          if (file) coach.mutate({ file, caption: caption.trim() });
        }}
      >
        <label className="flex flex-col gap-1 text-sm">
          {t('coach.picture')}
          <input type="file" accept="image/png,image/jpeg,image/webp" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          {t('coach.caption')}
          <input className="min-h-10 rounded-lg border border-line bg-panel-2 px-3 py-2" maxLength={500} value={caption} onChange={(e) => setCaption(e.target.value)} />
        </label>
        <Button type="submit" disabled={!file || coach.isPending}>{t('coach.check')}</Button>
      </form>
      <ErrorNote error={coach.error} />
      {report && (
        <div className="flex flex-col gap-3" data-testid="coach-report">
          <ul className="flex flex-col gap-1 text-sm">
            {report.measures.map((m) => (
              <li key={m.name} className="rounded-lg border border-line p-2">
                <strong>{m.name}</strong>: {m.verdict} ({m.value}) · {m.advice}
              </li>
            ))}
          </ul>
          {report.tags.length > 0 && <p className="text-sm">{t('coach.tags')}: {report.tags.map((x) => `#${x.tag}`).join(' ')}</p>}
          {report.bestHours.length > 0 && (
            <p className="text-sm">{t('coach.hours')}: {report.bestHours.map((h) => `${h.hour}:00 (${h.joins})`).join(', ')}</p>
          )}
        </div>
      )}
    </Page>
  );
}
