import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Duel } from '@/store';
import { DuelCard } from './DuelCard';

const A = '11111111-1111-1111-1111-111111111111';
const B = '22222222-2222-2222-2222-222222222222';

function duel(over: Partial<Duel> = {}): Duel {
  return {
    id: 'd1',
    challengerStreamId: A,
    opponentStreamId: B,
    rule: 'tips',
    seconds: 120,
    state: 'live',
    invitedAt: new Date().toISOString(),
    respondBy: new Date().toISOString(),
    startedAt: new Date().toISOString(),
    deadline: new Date(Date.now() + 60_000).toISOString(),
    endedAt: null,
    endedBy: null,
    scores: { challenger: 30, opponent: 25 },
    winner: null,
    tie: false,
    ...over,
  };
}

describe('DuelCard', () => {
  it('shows one scoreboard from either room side', () => {
    const { unmount } = render(<DuelCard streamId={A} duel={duel()} lang="en" />);
    expect(screen.getByRole('heading', { name: 'Duel' })).toBeInTheDocument();
    expect(screen.getByText('This creator: 30')).toBeInTheDocument();
    expect(screen.getByRole('img', { name: '30 against 25 tokens' })).toBeInTheDocument();
    unmount();
    render(<DuelCard streamId={B} duel={duel()} lang="nl" />);
    expect(screen.getByText('Deze creator: 25')).toBeInTheDocument();
    expect(screen.getByText('Andere creator: 30')).toBeInTheDocument();
  });

  it('announces the winner, a forfeit, and hides an unanswered invitation', () => {
    const ended = duel({ state: 'ended', winner: 'opponent', endedBy: 'challenger' });
    const { unmount } = render(<DuelCard streamId={B} duel={ended} lang="en" />);
    expect(screen.getByTestId('duel-result')).toHaveTextContent('This creator won the duel! (the inviting creator ended it early)');
    unmount();
    render(<DuelCard streamId={A} duel={duel({ state: 'invited' })} lang="en" />);
    expect(screen.queryByTestId('duel-card')).toBeNull();
  });
});
