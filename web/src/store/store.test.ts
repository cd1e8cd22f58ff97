import { beforeEach, describe, expect, it } from 'vitest';
import { useStore, type ChatMessage } from './index';

const msg = (id: string, sentAt: string, text = id): ChatMessage => ({
  id,
  streamId: 's',
  user: { id: 'u', handle: 'ann' },
  text,
  sentAt,
});

describe('chat slice', () => {
  beforeEach(() => useStore.setState({ rooms: {} }));

  it('merges history and live messages in time order without duplicates', () => {
    const { addMessages } = useStore.getState();
    addMessages('s', [msg('b', '2026-01-01T00:00:02Z')]);
    addMessages('s', [msg('a', '2026-01-01T00:00:01Z'), msg('b', '2026-01-01T00:00:02Z')]);
    expect(useStore.getState().room('s').messages.map((m) => m.id)).toEqual(['a', 'b']);
  });

  it('keeps at most 500 messages, dropping the oldest', () => {
    const many = Array.from({ length: 520 }, (_, i) => msg(`m${i}`, new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()));
    useStore.getState().addMessages('s', many);
    const kept = useStore.getState().room('s').messages;
    expect(kept).toHaveLength(500);
    expect(kept[0]!.id).toBe('m20');
  });

  it('removes a message for everyone', () => {
    const { addMessages, removeMessage } = useStore.getState();
    addMessages('s', [msg('a', '2026-01-01T00:00:01Z'), msg('b', '2026-01-01T00:00:02Z')]);
    removeMessage('s', 'a');
    expect(useStore.getState().room('s').messages.map((m) => m.id)).toEqual(['b']);
  });

  it('puts the newest feed item first and ignores a repeated one', () => {
    const { addFeed } = useStore.getState();
    addFeed('s', { kind: 'tip', id: 't1', handle: 'ann', amount: 5 });
    addFeed('s', { kind: 'tip', id: 't2', handle: 'bob', amount: 10 });
    addFeed('s', { kind: 'tip', id: 't1', handle: 'ann', amount: 5 });
    expect(useStore.getState().room('s').feed.map((f) => f.id)).toEqual(['t2', 't1']);
  });
});

describe('ui slice', () => {
  it('persists only preferences (language, low latency), never the account or money', () => {
    useStore.getState().setLang('nl');
    useStore.getState().setMe({ id: '1', handle: 'ann', email: 'a@x', roles: [], permissions: [], twoFactorEnabled: false });
    useStore.getState().setBalance(42);
    const saved = JSON.parse(localStorage.getItem('teezu.ui') ?? '{}') as { state: Record<string, unknown> };
    expect(saved.state).toEqual({ lang: 'nl', lowLatency: false });
  });
});
