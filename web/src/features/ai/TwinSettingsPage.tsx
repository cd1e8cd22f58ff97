import { useState } from 'react';
import { Link, Navigate } from '@/lib/router';
import { useMyTwin, useSaveTwin, type TwinSettings } from '@/api/companions';
import { useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { Empty, ErrorNote, Loading, Page } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from './strings';

/** A creator's AI twin: opt in or out, the greeting, and what it answers from. */
export default function TwinSettingsPage() {
  const t = useT(strings);
  const { me, pending } = useSignedIn();
  const allowed = Boolean(me?.permissions.includes('ai.creator'));
  const twin = useMyTwin(allowed);
  if (pending) return <Loading />;
  if (!me) return <Navigate to="/signin" replace />;
  if (!allowed) return <Page title={t('twin.title')}><Empty>{t('twin.notAllowed')}</Empty></Page>;
  return (
    <Page title={t('twin.title')}>
      <p className="mb-4 text-sm text-muted">{t('twin.explain')}</p>
      <p className="mb-4 text-sm"><Link to="/ai/coach" className="text-brand underline">{t('coach.title')}</Link></p>
      <ErrorNote error={twin.error} />
      {twin.data ? <TwinForm saved={twin.data} /> : <Loading />}
    </Page>
  );
}

function TwinForm({ saved }: { saved: TwinSettings }) {
  const t = useT(strings);
  const save = useSaveTwin();
  const [enabled, setEnabled] = useState(saved.enabled);
  const [greeting, setGreeting] = useState(saved.greeting);
  return (
    <form
      className="flex flex-col gap-3"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate({ enabled, greeting: greeting.trim() });
      }}
    >
      <label className="flex min-h-10 items-center gap-2">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        {t('twin.enabled')}
      </label>
      <label className="flex flex-col gap-1 text-sm">
        {t('twin.greeting')}
        <input
          className="min-h-10 rounded-lg border border-line bg-panel-2 px-3 py-2"
          maxLength={200}
          value={greeting}
          onChange={(e) => setGreeting(e.target.value)}
        />
      </label>
      <p className="text-sm text-muted" data-testid="twin-corpus">
        {t('twin.corpus', { messages: saved.corpus.messages, posts: saved.corpus.posts })} · {saved.label}
      </p>
      <ErrorNote error={save.error} />
      <Button type="submit" disabled={save.isPending}>{t('twin.save')}</Button>
      {save.isSuccess && <p role="status" className="text-sm text-brand">{t('twin.saved')}</p>}
    </form>
  );
}
