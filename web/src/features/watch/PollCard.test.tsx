import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadLanguage } from '@/i18n';
import { useStore, type Poll } from '@/store';
import type { Ack } from '@/realtime/socket';

const sent: { event: string; payload: Record<string, unknown> }[] = [];
let answer: Ack = { ok: true };
vi.mock('@/realtime/socket', () => ({
  emit: async (event: string, payload: Record<string, unknown>) => {
    sent.push({ event, payload });
    return answer;
  },
}));

const { PollCard } = await import('./PollCard');
const ROOM = '11111111-1111-1111-1111-111111111111';

function poll(over: Partial<Poll> = {}): Poll {
  return {
    id: 'p1',
    streamId: ROOM,
    kind: 'poll',
    question: 'Next song?',
    options: ['Slow', 'Fast'],
    weighted: false,
    state: 'open',
    openedAt: new Date().toISOString(),
    deadline: new Date(Date.now() + 60_000).toISOString(),
    closedAt: null,
    closedBy: null,
    tally: [
      { option: 0, votes: 1, weight: 1 },
      { option: 1, votes: 3, weight: 3 },
    ],
    voters: 4,
    winner: null,
    tie: false,
    ...over,
  };
}

describe('PollCard', () => {
  beforeAll(() => loadLanguage('nl'));
  beforeEach(() => {
    sent.length = 0;
    answer = { ok: true };
    useStore.setState({
      lang: 'en',
      me: { id: 'u', handle: 'ann', email: 'a@x', roles: ['member'], permissions: [], twoFactorEnabled: false },
      rooms: {},
    });
  });

  it('shows the open poll with its tally and takes a free vote', async () => {
    useStore.getState().patchRoom(ROOM, { poll: poll() });
    render(<PollCard streamId={ROOM} />);
    expect(screen.getByRole('heading', { name: 'Poll: Next song?' })).toBeInTheDocument();
    expect(screen.getByText('3 votes · 75%')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Fast' }));
    expect(sent).toEqual([{ event: 'poll:vote', payload: { streamId: ROOM, pollId: 'p1', option: 1 } }]);
    expect(await screen.findByRole('status')).toHaveTextContent('Counted: Fast');
  });

  it('makes a weighted vote a tip with its own idempotency key', async () => {
    useStore.getState().patchRoom(ROOM, { poll: poll({ weighted: true, kind: 'challenge' }) });
    answer = { ok: true, balance: 55 };
    render(<PollCard streamId={ROOM} />);
    await userEvent.clear(screen.getByLabelText('Tokens'));
    await userEvent.type(screen.getByLabelText('Tokens'), '25');
    await userEvent.click(screen.getByRole('button', { name: 'Tip for Slow' }));
    expect(sent[0]!.payload).toMatchObject({ pollId: 'p1', option: 0, amount: 25 });
    expect(sent[0]!.payload.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor(() => expect(useStore.getState().balance).toBe(55));
  });

  it('shows a refusal with its code, and the result once closed', async () => {
    answer = { ok: false, code: 'ALREADY_VOTED', message: 'you voted in this poll already' };
    useStore.getState().patchRoom(ROOM, { poll: poll() });
    const { rerender } = render(<PollCard streamId={ROOM} />);
    await userEvent.click(screen.getByRole('button', { name: 'Slow' }));
    expect(await screen.findByRole('status')).toHaveTextContent('(ALREADY_VOTED)');
    useStore.getState().patchRoom(ROOM, { poll: poll({ state: 'closed', winner: 1, closedBy: 'deadline', closedAt: new Date().toISOString() }) });
    rerender(<PollCard streamId={ROOM} />);
    expect(screen.getByTestId('poll-result')).toHaveTextContent('Winner: Fast');
    expect(screen.queryByRole('button', { name: 'Slow' })).toBeNull();
  });
});
