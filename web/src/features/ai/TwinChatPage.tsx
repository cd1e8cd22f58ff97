import { Bot, Send } from 'lucide-react';
import { useState } from 'react';
import { Navigate, useParams } from '@/lib/router';
import { useAskTwin, useTwin, type TwinReply } from '@/api/companions';
import { useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { Empty, ErrorNote, Loading, Page } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from './strings';

/** A fan asks a creator's AI twin while the creator is away; every reply is labelled AI. */
export default function TwinChatPage() {
  const t = useT(strings);
  const handle = useParams().handle ?? '';
  const { me, pending } = useSignedIn();
  const twin = useTwin(handle, Boolean(me));
  const ask = useAskTwin(handle);
  const [text, setText] = useState('');
  const [said, setSaid] = useState<{ prompt: string; reply: TwinReply }[]>([]);
  if (pending) return <Loading />;
  if (!me) return <Navigate to="/signin" replace />;
  if (twin.isPending) return <Loading />;
  if (!twin.data) return <Page title={t('twin.chatTitle', { handle })}><Empty>{t('twin.none')}</Empty></Page>;
  return (
    <Page title={t('twin.chatTitle', { handle })}>
      <p className="mb-3 text-sm text-muted">
        <Bot className="mr-1 inline size-4" aria-hidden />
        {twin.data.away ? t('twin.away', { handle }) : t('twin.present', { handle })}
      </p>
      <ul className="mb-3 flex flex-col gap-2" aria-live="polite" data-testid="twin-conversation">
        {twin.data.greeting && (
          <li className="max-w-[85%] self-start rounded-lg bg-panel-2 p-2 text-sm">
            <span className="block text-xs text-brand">{twin.data.label}</span>
            {twin.data.greeting}
          </li>
        )}
        {said.map((x, n) => (
          <li key={n} className="contents">
            <p className="max-w-[85%] self-end rounded-lg bg-brand/20 p-2 text-sm">{x.prompt}</p>
            <p className="max-w-[85%] self-start rounded-lg bg-panel-2 p-2 text-sm">
              <span className="block text-xs text-brand">{x.reply.label}</span>
              {x.reply.reply}
            </p>
          </li>
        ))}
      </ul>
      <ErrorNote error={ask.error} />
      <form
        className="flex gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          const prompt = text.trim();
          if (!prompt) return;
          ask.mutate(prompt, {
            onSuccess: (reply) => {
              setSaid((s) => [...s, { prompt, reply }]);
              setText('');
            },
          });
        }}
      >
        <label className="sr-only" htmlFor="twin-prompt">{t('twin.ask')}</label>
        <input
          id="twin-prompt"
          className="min-h-10 flex-1 rounded-lg border border-line bg-panel-2 px-3 py-2"
          maxLength={1000}
          placeholder={t('twin.ask')}
          value={text}
          onChange={(e) => setText(e.target.value)}
          disabled={!twin.data.away}
        />
        <Button type="submit" disabled={ask.isPending || !text.trim() || !twin.data.away} aria-label={t('ai.send')}>
          <Send className="size-4" aria-hidden />
        </Button>
      </form>
    </Page>
  );
}
