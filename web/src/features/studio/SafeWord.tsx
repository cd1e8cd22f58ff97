import { useState, type FormEvent } from 'react';
import { api, data } from '@/api/client';
import { useErrorText, useT } from '@/i18n';
import { strings } from './strings';
import { emit } from '@/realtime/socket';

/** The safe word: one big button any performer can press (Socket.IO `safe_word`, the REST
 * route as a fallback); resuming needs the creator's explicit confirmation. */
export function SafeWord({
  streamId,
  frozen,
  reason,
  onFrozen,
  onNote,
}: {
  streamId: string;
  frozen: boolean;
  reason: string | null;
  onFrozen: (frozen: boolean, reason?: string) => void;
  onNote: (text: string, error?: boolean) => void;
}) {
  const t = useT(strings);
  const errorText = useErrorText();
  const [busy, setBusy] = useState(false);
  const [confirmed, setConfirmed] = useState(false);

  async function press() {
    setBusy(true);
    try {
      let ack = await emit('safe_word', { streamId });
      if (!ack.ok && ack.code === 'NO_ANSWER') {
        try {
          await data(api.POST('/api/v1/streams/{stream_id}/safe-word', { params: { path: { stream_id: streamId } } }));
          ack = { ok: true };
        } catch (e) {
          onNote(t('studio.safeWordFailed', { why: errorText(e) }), true);
          return;
        }
      }
      if (ack.ok) {
        onFrozen(true, 'safe word');
        onNote(t('studio.frozenNote'));
      } else {
        onNote(t('studio.safeWordFailed', { why: `${ack.message} (${ack.code})` }), true);
      }
    } finally {
      setBusy(false);
    }
  }

  async function resume(e: FormEvent) {
    e.preventDefault();
    if (!confirmed) return;
    try {
      await data(
        api.POST('/api/v1/streams/{stream_id}/resume', { params: { path: { stream_id: streamId } }, body: { confirm: true } }),
      );
      setConfirmed(false);
      onFrozen(false);
      onNote(t('studio.resumed'));
    } catch (err) {
      onNote(t('studio.resumeFailed', { why: errorText(err) }), true);
    }
  }

  return (
    <section id="safety" aria-label={t('studio.safeWord')} className="flex flex-col gap-2">
      <button
        id="safeword"
        type="button"
        disabled={busy}
        onClick={() => void press()}
        aria-describedby="safeword-help"
        className="min-h-[96px] w-full rounded-2xl bg-red-700 px-4 text-xl font-extrabold text-white hover:bg-red-800 disabled:opacity-60"
      >
        {t('studio.safeWordButton')}
      </button>
      <p id="safeword-help" className="text-sm text-muted">{t('studio.safeWordHelp')}</p>
      <form id="resume" hidden={!frozen} onSubmit={(e) => void resume(e)} className="flex flex-col gap-2 rounded-xl border border-warn/50 bg-warn/10 p-3">
        <p>
          <strong>{t('studio.frozen')}</strong> <span id="frozen-reason">{frozen && reason ? `(${reason})` : ''}</span>
        </p>
        <label className="flex items-start gap-2">
          <input id="resume-confirm" type="checkbox" required className="mt-1 size-5" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} />
          <span>{t('studio.resumeConfirm')}</span>
        </label>
        <button id="resume-button" type="submit" className="min-h-10 rounded-lg bg-brand px-4 font-semibold text-black">
          {t('studio.resume')}
        </button>
      </form>
    </section>
  );
}
