import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent } from 'react';
import { api, data } from '@/api/client';
import { Button } from '@/components/ui/Button';
import { ErrorNote } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings as auth } from '@/features/auth/strings';
import { strings } from './strings';
import { useStore } from '@/store';

export const studioKeys = {
  identity: ['studio', 'identity'] as const,
  performers: (id: string) => ['studio', id, 'performers'] as const,
};

export type Identity = 'approved' | 'pending' | 'rejected' | 'none';

export function useIdentity(enabled: boolean) {
  return useQuery({
    queryKey: studioKeys.identity,
    enabled,
    queryFn: async () => {
      const s = await data(api.GET('/api/v1/verification/status'));
      const state: Identity = s.verified ? 'approved' : s.latest ? (s.latest.status as Identity) : 'none';
      return { state, reason: s.latest?.reason ?? null, submittedAt: s.latest?.submittedAt ?? null };
    },
  });
}

export function usePerformers(streamId: string, enabled: boolean) {
  return useQuery({
    queryKey: studioKeys.performers(streamId),
    enabled,
    retry: false,
    queryFn: () => data(api.GET('/api/v1/streams/{stream_id}/performers', { params: { path: { stream_id: streamId } } })),
  });
}

/** Before going live: my identity check (with the ID form), this broadcast's consent
 * check-ins, and the standing of the stream and account after a refusal. */
export function Checklist({ streamId, standing, onNote }: { streamId: string; standing: string | null; onNote: (text: string, error?: boolean) => void }) {
  const t = useT(strings, auth);
  const lang = useStore((s) => s.lang);
  const me = useStore((s) => s.me);
  const client = useQueryClient();
  const identity = useIdentity(Boolean(me));
  const performers = usePerformers(streamId, Boolean(me));
  const send = useMutation({
    mutationFn: (form: FormData) =>
      data(
        api.POST('/api/v1/verification/records', {
          body: form as never,
          bodySerializer: (b: unknown) => b as FormData,
        }),
      ),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: studioKeys.identity });
      onNote(t('studio.identitySent'));
    },
    onError: () => undefined,
  });
  const checkIn = useMutation({
    mutationFn: () => data(api.POST('/api/v1/streams/{stream_id}/consent', { params: { path: { stream_id: streamId } } })),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: studioKeys.performers(streamId) });
      onNote(t('studio.checkedIn'));
    },
  });
  if (!me) return null;
  const id = identity.data;
  const when = id?.submittedAt ? new Date(id.submittedAt).toLocaleString(lang) : '';
  const mine = performers.data?.performers.find((p) => p.userId === me.id);
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    send.mutate(new FormData(form), { onSuccess: () => form.reset() });
  };
  return (
    <section id="checklist" aria-labelledby="checklist-title" className="flex flex-col gap-3 rounded-xl border border-line bg-panel p-3">
      <h2 id="checklist-title" className="font-semibold">{t('studio.checklist')}</h2>
      <div id="check-identity" tabIndex={-1} className="flex flex-col gap-2">
        <h3 className="text-sm font-semibold">{t('studio.identity')}</h3>
        <p id="identity-state" className="text-sm text-muted">
          {id && t(`studio.identity.${id.state}`, { when, reason: id.reason ? ` (${id.reason})` : '' })}
        </p>
        {id && (id.state === 'none' || id.state === 'rejected') && (
          <form id="idform" className="grid gap-2 sm:grid-cols-2" onSubmit={onSubmit}>
            <label className="flex flex-col gap-1 text-sm">
              {t('studio.legalName')}
              <input id="legal-name" name="legalName" autoComplete="name" required className="min-h-10 rounded-lg border border-line bg-panel-2 px-2" />
            </label>
            <label className="flex flex-col gap-1 text-sm">
              {t('auth.dateOfBirth')}
              <input id="born" name="dateOfBirth" type="date" required className="min-h-10 rounded-lg border border-line bg-panel-2 px-2" />
            </label>
            <label className="flex flex-col gap-1 text-sm">
              {t('studio.idFront')}
              <input id="id-front" name="idFront" type="file" accept="image/jpeg,image/png,image/webp" required className="text-sm" />
            </label>
            <label className="flex flex-col gap-1 text-sm">
              {t('studio.selfie')}
              <input id="selfie" name="selfie" type="file" accept="image/jpeg,image/png,image/webp" required className="text-sm" />
            </label>
            <Button id="idsend" type="submit" disabled={send.isPending} className="sm:col-span-2">{t('studio.sendForReview')}</Button>
            <ErrorNote error={send.error} className="sm:col-span-2" />
          </form>
        )}
      </div>
      <div id="check-consent" tabIndex={-1} className="flex flex-col gap-2">
        <h3 className="text-sm font-semibold">{t('studio.consent')}</h3>
        <ul id="performers" className="flex flex-col gap-1 text-sm">
          {performers.data ? (
            performers.data.performers.map((p) => (
              <li key={p.userId} data-handle={p.handle}>
                @{p.handle}
                {p.role === 'creator' ? ` (${t('studio.creator')})` : ''}: {p.verified ? t('studio.verified') : t('studio.notVerified')},{' '}
                {p.checkedIn ? t('studio.isCheckedIn') : t('studio.notCheckedIn')}
              </li>
            ))
          ) : performers.isError ? (
            <li>{t('studio.notPerformer')}</li>
          ) : null}
        </ul>
        <Button id="checkin" hidden={!mine || mine.checkedIn} onClick={() => checkIn.mutate()} disabled={checkIn.isPending}>
          {t('studio.checkInButton')}
        </Button>
        <ErrorNote error={checkIn.error} />
      </div>
      <div id="check-standing" tabIndex={-1} hidden={!standing}>
        <h3 className="text-sm font-semibold">{t('studio.standing')}</h3>
        <p id="standing-state" className="text-sm">{standing}</p>
      </div>
    </section>
  );
}
