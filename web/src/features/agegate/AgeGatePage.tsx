import { useMutation, useQueryClient } from '@tanstack/react-query';
import { ShieldCheck } from 'lucide-react';
import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from '@/lib/router';
import { api, data } from '@/api/client';
import { keys } from '@/api/keys';
import { useAgeGate } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { ErrorNote, Loading, Page } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from './strings';
import { useStore } from '@/store';

/** What this jurisdiction requires for adult streams, the self-declaration, and where
 * verification happens (the API decides; this screen only shows it). */
export default function AgeGatePage() {
  const t = useT(strings);
  const me = useStore((s) => s.me);
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const client = useQueryClient();
  const gate = useAgeGate();
  const [confirm, setConfirm] = useState(false);
  const next = params.get('next') ?? '/';
  const declare = useMutation({
    mutationFn: () => data(api.POST('/api/v1/me/age-declaration', { body: { confirm: true } })),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: keys.ageGate });
      navigate(next.startsWith('/') ? next : '/');
    },
  });
  if (gate.isPending) return <Loading />;
  if (gate.isError) return <Page title={t('age.title')}><ErrorNote error={gate.error} /></Page>;
  const g = gate.data;
  const where = [g.country, g.region].filter(Boolean).join(' / ') || t('age.unknownPlace');
  return (
    <Page title={t('age.title')}>
      <div className="flex flex-col gap-4 rounded-xl border border-line bg-panel p-4">
        <p className="flex items-center gap-2">
          <ShieldCheck className="size-5 text-ok" aria-hidden />
          <span data-testid="age-requirement">{t(`age.requirement.${g.requirement}`, { where })}</span>
        </p>
        <p className="text-sm text-muted" data-testid="age-level">{t(`age.level.${g.level}`)}</p>
        {g.allowed ? (
          <>
            <p className="text-ok">{t('age.allowed')}</p>
            <Link to={next} className="text-brand underline">{t('common.continue')}</Link>
          </>
        ) : g.requirement === 'verified' ? (
          <p>{t('age.verifyHow')}</p>
        ) : !me ? (
          <p>
            <Link className="text-brand underline" to={`/signin?next=${encodeURIComponent(`/age?next=${next}`)}`}>{t('auth.signIn')}</Link>{' '}
            {t('age.signInFirst')}
          </p>
        ) : (
          <form
            className="flex flex-col gap-3"
            onSubmit={(e) => {
              e.preventDefault();
              if (confirm) declare.mutate();
            }}
          >
            <label className="flex items-start gap-2">
              <input type="checkbox" className="mt-1 size-5" checked={confirm} onChange={(e) => setConfirm(e.target.checked)} />
              <span>{t('age.declare')}</span>
            </label>
            <ErrorNote error={declare.error} />
            <Button type="submit" disabled={!confirm || declare.isPending}>{t('age.confirm')}</Button>
          </form>
        )}
      </div>
    </Page>
  );
}
