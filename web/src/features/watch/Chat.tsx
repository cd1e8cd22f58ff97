import { useVirtualizer } from '@tanstack/react-virtual';
import { Send, Shield } from 'lucide-react';
import { useEffect, useRef, useState } from 'react';
import { Link } from '@/lib/router';
import { useChatHistory } from '@/api/queries';
import { useT, translate } from '@/i18n';
import { emit, type Ack } from '@/realtime/socket';
import { useStore, type ChatMessage } from '@/store';

const EMOJI = ['❤️', '🔥', '😍', '😂', '👏', '💋', '🎉', '😮'];

function ackText(lang: 'en' | 'nl', ack: Ack): string {
  const key = `errors.${ack.code}`;
  const known = translate(lang, key as never, { retry: ack.retryAfter ?? '' });
  return `${known !== key && known ? known : ack.message} (${ack.code})`;
}

function Line({ m, canModerate, streamId }: { m: ChatMessage; canModerate: boolean; streamId: string }) {
  const t = useT();
  return (
    <div className="group flex items-start gap-2 px-2 py-1 text-sm" data-id={m.id}>
      <span className="shrink-0 font-semibold text-brand" data-part="who">
        {m.user.handle}
        {m.user.badges?.map((b) => (
          <span key={b} className="ml-1 rounded bg-brand/20 px-1 text-xs font-normal" data-part="badge">
            {b}
          </span>
        ))}
      </span>
      <span className="min-w-0 break-words" data-part="text">{m.text}</span>
      {canModerate && (
        <button
          type="button"
          className="ml-auto shrink-0 rounded px-1 text-xs text-muted opacity-0 hover:text-red-400 focus:opacity-100 group-hover:opacity-100"
          onClick={() => void emit('chat:remove', { streamId, messageId: m.id })}
          aria-label={t('chat.remove', { handle: m.user.handle })}
        >
          <Shield className="size-3" aria-hidden />
        </button>
      )}
    </div>
  );
}

/** The room's chat: history from the API, live messages from the socket (virtualised list). */
export function Chat({ streamId, compact = false }: { streamId: string; compact?: boolean }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const me = useStore((s) => s.me);
  const room = useStore((s) => s.rooms[streamId]);
  const addMessages = useStore((s) => s.addMessages);
  const connection = useStore((s) => s.connection);
  const history = useChatHistory(streamId);
  const [text, setText] = useState('');
  const [status, setStatus] = useState<{ text: string; error: boolean } | null>(null);
  const [sending, setSending] = useState(false);
  const parentRef = useRef<HTMLDivElement>(null);
  const lastTyping = useRef(0);

  useEffect(() => {
    if (history.data) addMessages(streamId, history.data);
  }, [history.data, streamId, addMessages]);

  const messages = room?.messages ?? [];
  const virtualizer = useVirtualizer({
    count: messages.length,
    getScrollElement: () => parentRef.current,
    estimateSize: () => 28,
    overscan: 10,
  });
  useEffect(() => {
    if (messages.length) virtualizer.scrollToIndex(messages.length - 1, { align: 'end' });
  }, [messages.length, virtualizer]);

  const canSend = Boolean(room?.joined && room.canSend);
  const placeholder = !me
    ? t('chat.signInToChat')
    : connection !== 'online' || !room?.joined
      ? t('chat.connecting')
      : room.frozen && !room.canModerate
        ? t('chat.frozen')
        : canSend
          ? t('chat.placeholder')
          : t('chat.cannotSend');

  async function send(message: string) {
    const trimmed = message.trim();
    if (!trimmed) return;
    setSending(true);
    const ack = await emit('chat:send', { streamId, text: trimmed });
    setSending(false);
    if (ack.ok && ack.held) {
      setText('');
      setStatus({ text: ack.releaseAt ? t('chat.delayed') : t('chat.held'), error: false });
    } else if (ack.ok) {
      setText('');
      setStatus(null);
      addMessages(streamId, [(ack as unknown as { message: ChatMessage }).message]);
    } else {
      setStatus({ text: ackText(lang, ack), error: true });
    }
  }

  return (
    <section aria-label={t('chat.title')} className="flex min-h-0 flex-1 flex-col rounded-xl border border-line bg-panel" data-testid="chat" data-state={room?.joined ? 'joined' : connection === 'reconnecting' ? 'reconnecting' : 'connecting'}>
      <div className="flex items-center justify-between border-b border-line px-3 py-2">
        <h2 className="text-sm font-semibold">{t('chat.title')}</h2>
        <span className="text-xs text-muted" data-testid="viewer-count">{t('watch.watching', { n: room?.viewers ?? 0 })}</span>
      </div>
      {connection === 'reconnecting' && (
        <p role="status" className="bg-warn/15 px-3 py-1 text-xs text-warn" data-testid="chat-reconnecting">{t('common.reconnecting')}</p>
      )}
      <div ref={parentRef} className={compact ? 'h-56 overflow-y-auto' : 'min-h-40 flex-1 overflow-y-auto'} aria-live="polite" role="log" data-testid="chat-log">
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((v) => {
            const m = messages[v.index]!;
            return (
              <div key={m.id} data-index={v.index} ref={virtualizer.measureElement} className="absolute inset-x-0" style={{ transform: `translateY(${v.start}px)` }}>
                <Line m={m} streamId={streamId} canModerate={Boolean(room?.canModerate)} />
              </div>
            );
          })}
        </div>
      </div>
      {room?.typing && <p className="px-3 text-xs text-muted">{t('chat.typing', { handle: room.typing })}</p>}
      <div className="flex flex-wrap gap-1 px-2 pt-2" aria-label={t('chat.emoji')} role="group">
        {EMOJI.map((e) => (
          <button key={e} type="button" disabled={!canSend} className="rounded-lg px-2 py-1 text-lg hover:bg-panel-2 disabled:opacity-40" onClick={() => void send(e)} aria-label={t('chat.sendEmoji', { emoji: e })}>
            {e}
          </button>
        ))}
      </div>
      <form
        className="safe-bottom flex gap-2 p-2"
        onSubmit={(e) => {
          e.preventDefault();
          void send(text);
        }}
      >
        <input
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            const now = Date.now();
            if (canSend && now - lastTyping.current > 2000) {
              lastTyping.current = now;
              void emit('chat:typing', { streamId });
            }
          }}
          maxLength={500}
          disabled={!canSend}
          placeholder={placeholder}
          aria-label={t('chat.message')}
          data-testid="chat-input"
          className="min-h-10 min-w-0 flex-1 rounded-lg border border-line bg-panel-2 px-3 disabled:opacity-60"
        />
        <button type="submit" disabled={!canSend || sending} className="rounded-lg bg-brand px-3 text-black disabled:opacity-40" aria-label={t('chat.send')} data-testid="chat-send">
          <Send className="size-4" aria-hidden />
        </button>
      </form>
      {!me && (
        <p className="px-3 pb-2 text-xs">
          <Link className="text-brand underline" to={`/signin?next=/watch/${streamId}`}>{t('auth.signIn')}</Link> · <Link className="text-brand underline" to={`/signup?next=/watch/${streamId}`}>{t('auth.signUp')}</Link>
        </p>
      )}
      {status && (
        <p role={status.error ? 'alert' : 'status'} className={`px-3 pb-2 text-xs ${status.error ? 'text-red-400' : 'text-muted'}`} data-testid="chat-status">
          {status.text}
        </p>
      )}
    </section>
  );
}
