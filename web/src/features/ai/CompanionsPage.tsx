import { Bot, Send } from 'lucide-react';
import { useEffect, useRef, useState } from 'react';
import { Navigate } from '@/lib/router';
import { useForget, usePersonaMemory, usePersonaMessages, usePersonas, useTalk, type Persona } from '@/api/companions';
import { useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { Empty, ErrorNote, Loading, Page } from '@/components/ui/States';
import { useT, type Key } from '@/i18n';
import { strings } from './strings';
import { useStore } from '@/store';

const MAX_PROMPT = 1000;

/** The AI tab: pick one of the five AI companions and talk; what it remembers, and forget. */
export default function CompanionsPage() {
  const t = useT(strings);
  const { me, pending } = useSignedIn();
  const allowed = Boolean(me?.permissions.includes('ai.basic'));
  const personas = usePersonas(allowed);
  const [key, setKey] = useState('');
  if (pending) return <Loading />;
  if (!me) return <Navigate to="/signin" replace />;
  if (!allowed) return <Page title={t('ai.title')}><Empty>{t('ai.notAllowed')}</Empty></Page>;
  const list = personas.data ?? [];
  const current = list.find((p) => p.key === key) ?? list[0];
  return (
    <Page title={t('ai.title')}>
      <ErrorNote error={personas.error} />
      {personas.isPending ? (
        <Loading />
      ) : (
        <>
          <div role="tablist" aria-label={t('ai.personas')} className="mb-4 flex gap-2 overflow-x-auto pb-1">
            {list.map((p) => (
              <button
                key={p.key}
                type="button"
                role="tab"
                aria-selected={current?.key === p.key}
                className="min-h-10 shrink-0 rounded-full border border-line px-4 py-2 text-sm aria-selected:border-brand aria-selected:text-brand"
                onClick={() => setKey(p.key)}
              >
                {p.name}
              </button>
            ))}
          </div>
          {current && <Conversation key={current.key} persona={current} />}
        </>
      )}
    </Page>
  );
}

function Conversation({ persona }: { persona: Persona }) {
  const t = useT(strings);
  const lang = useStore((s) => s.lang);
  const history = usePersonaMessages(persona.key);
  const memory = usePersonaMemory(persona.key);
  const talk = useTalk(persona.key);
  const forget = useForget(persona.key);
  const [text, setText] = useState('');
  const end = useRef<HTMLLIElement>(null);
  const exchanges = history.data ?? [];
  useEffect(() => end.current?.scrollIntoView?.({ block: 'nearest' }), [exchanges.length]);
  return (
    <section aria-label={persona.name} className="flex flex-col gap-3">
      <p className="text-sm text-muted">
        <Bot className="mr-1 inline size-4" aria-hidden />
        {persona.style} · {t('ai.disclosure')}
      </p>
      <ul className="flex max-h-[55vh] flex-col gap-2 overflow-y-auto rounded-lg border border-line bg-panel p-3" aria-live="polite" data-testid="ai-conversation">
        <li className="max-w-[85%] self-start rounded-lg bg-panel-2 p-2 text-sm">
          <span className="block text-xs text-brand">{persona.label}</span>
          {lang === 'nl' ? persona.greeting.nl : persona.greeting.en}
        </li>
        {exchanges.map((x, n) => (
          <li key={`${x.at}-${n}`} className="contents">
            <p className="max-w-[85%] self-end rounded-lg bg-brand/20 p-2 text-sm">{x.prompt}</p>
            <p className="max-w-[85%] self-start rounded-lg bg-panel-2 p-2 text-sm">
              <span className="block text-xs text-brand">
                {persona.label}
                {x.refused ? ` · ${t('ai.boundary')}` : ''}
              </span>
              {x.reply}
            </p>
          </li>
        ))}
        <li ref={end} aria-hidden className="h-0" />
      </ul>
      <ErrorNote error={talk.error} />
      <form
        className="flex gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          const prompt = text.trim();
          if (!prompt) return;
          talk.mutate(prompt, { onSuccess: () => setText('') });
        }}
      >
        <label className="sr-only" htmlFor="ai-prompt">{t('ai.say', { name: persona.name })}</label>
        <input
          id="ai-prompt"
          className="min-h-10 flex-1 rounded-lg border border-line bg-panel-2 px-3 py-2"
          maxLength={MAX_PROMPT}
          placeholder={t('ai.say', { name: persona.name })}
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <Button type="submit" disabled={talk.isPending || !text.trim()} aria-label={t('ai.send')}>
          <Send className="size-4" aria-hidden />
        </Button>
      </form>
      <details className="rounded-lg border border-line p-3 text-sm">
        <summary className="cursor-pointer">{t('ai.memory')}</summary>
        {memory.data && memory.data.facts.length > 0 ? (
          <ul className="mt-2 list-disc pl-5">
            {memory.data.facts.map((f) => <li key={f}>{f}</li>)}
          </ul>
        ) : (
          <p className="mt-2 text-muted">{t('ai.memoryEmpty')}</p>
        )}
        <p className="mt-1 text-muted">{t('ai.boundaries')}: {persona.boundaries.map((b) => t(`ai.rule.${b}` as Key)).join(', ')}</p>
        <Button variant="secondary" className="mt-2" onClick={() => forget.mutate()} disabled={forget.isPending}>
          {t('ai.forget')}
        </Button>
      </details>
    </section>
  );
}
