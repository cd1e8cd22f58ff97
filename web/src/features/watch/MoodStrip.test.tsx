import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadLanguage } from '@/i18n';
import { useStore, emptyRoom } from '@/store';
import type { Ack } from '@/realtime/socket';

const sent: { event: string; payload: Record<string, unknown> }[] = [];
let answer: Ack = { ok: true };
vi.mock('@/realtime/socket', () => ({
  emit: async (event: string, payload: Record<string, unknown>) => {
    sent.push({ event, payload });
    return answer;
  },
}));

const { MoodStrip } = await import('./MoodStrip');
const ROOM = '11111111-1111-1111-1111-111111111111';

describe('MoodStrip', () => {
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
  afterEach(() => vi.clearAllMocks());

  it('shows the room’s distribution as the server sent it', () => {
    useStore.getState().patchRoom(ROOM, {
      ...emptyRoom,
      mood: { counts: { playful: 3, calm: 1 }, total: 4, votes: 9, windowSeconds: 30 },
    });
    render(<MoodStrip streamId={ROOM} />);
    expect(screen.getByRole('img', { name: 'Calm 25%, Playful 75%' })).toBeInTheDocument();
    expect(screen.getByText('4 votes in the last 30 s')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Playful 75%' })).toBeEnabled();
  });

  it('votes a mood and marks it mine', async () => {
    render(<MoodStrip streamId={ROOM} />);
    await userEvent.click(screen.getByRole('button', { name: /Dreamy/ }));
    expect(sent).toEqual([{ event: 'mood:vote', payload: { streamId: ROOM, mood: 'dreamy' } }]);
    await waitFor(() => expect(screen.getByRole('button', { name: /Dreamy/ })).toHaveAttribute('aria-pressed', 'true'));
  });

  it('says why a vote was refused, in the chosen language', async () => {
    useStore.setState({ lang: 'nl' });
    answer = { ok: false, code: 'RATE_LIMITED', message: 'one at a time', retryAfter: 1 };
    render(<MoodStrip streamId={ROOM} />);
    await userEvent.click(screen.getByRole('button', { name: /Intens/ }));
    expect(await screen.findByRole('status')).toHaveTextContent('(RATE_LIMITED)');
  });

  it('asks a visitor to sign in before voting', () => {
    useStore.setState({ me: null });
    render(<MoodStrip streamId={ROOM} />);
    expect(screen.getByRole('button', { name: /Calm/ })).toBeDisabled();
    expect(screen.getByRole('status')).toHaveTextContent('Sign in to vote.');
  });
});
