import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRouter } from '@/lib/router';
import { useStore } from '@/store';
import ModerationPage from './ModerationPage';

const moderator = { id: 'm', handle: 'mod', email: 'm@x', roles: ['moderator'], permissions: ['moderation.all'], twoFactorEnabled: true };
const flag = {
  id: 'f1000000-0000-0000-0000-000000000000',
  kind: 'frame',
  streamId: 's1',
  postId: null,
  subjectId: 'c1',
  reason: 'nudity score 0.93',
  status: 'open',
  resolution: null,
  note: '',
  createdAt: '2026-12-07T20:00:00Z',
  resolvedAt: null,
  resolvedBy: null,
  ageSeconds: 300,
  decision: null,
  snapshotUrl: '/api/v1/moderation/flags/f1/snapshot',
};

function renderPage() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter path="/moderation">
        <ModerationPage />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe('ModerationPage', () => {
  const sent: { url: string; body: unknown }[] = [];
  let open = [flag];
  beforeEach(() => {
    sent.length = 0;
    open = [flag];
    useStore.setState({ lang: 'en', me: moderator as never });
    vi.stubGlobal('fetch', async (input: Request) => {
      const url = new URL(input.url);
      if (url.pathname === '/api/v1/auth/me') return Response.json({ status: 'ok', data: moderator });
      if (url.pathname === '/api/v1/moderation/flags') return Response.json({ status: 'ok', data: open, nextCursor: null });
      if (url.pathname.endsWith('/resolve')) {
        sent.push({ url: url.pathname, body: await input.json() });
        open = [];
        return Response.json({ status: 'ok', data: { ...flag, status: 'resolved', resolution: 'confirmed' } });
      }
      return Response.json({ status: 'ok', data: [], nextCursor: null });
    });
  });
  afterEach(() => vi.unstubAllGlobals());

  it('shows a flag with its snapshot and confirms it with the chosen action and note', async () => {
    renderPage();
    const card = (await screen.findByText('nudity score 0.93')).closest('li')!;
    expect(within(card).getByRole('img', { name: /Snapshot of flag/ })).toHaveAttribute('src', flag.snapshotUrl);
    await userEvent.click(within(card).getByLabelText('Mark explicit'));
    await userEvent.type(within(card).getByLabelText('Note (for the record)'), 'seen');
    await userEvent.click(within(card).getByRole('button', { name: 'Confirm' }));
    await screen.findByText('Nothing waiting.');
    expect(sent).toEqual([{ url: `/api/v1/moderation/flags/${flag.id}/resolve`, body: { decision: 'confirm', note: 'seen', actions: ['mark_explicit'], rating: null } }]);
  });

  it('tells a member without the permission that the console is for moderators', async () => {
    useStore.setState({ me: { ...moderator, permissions: [] } as never });
    vi.stubGlobal('fetch', async () => Response.json({ status: 'ok', data: { ...moderator, permissions: [] } }));
    renderPage();
    expect(await screen.findByText('This console is for moderators.')).toBeInTheDocument();
  });
});
