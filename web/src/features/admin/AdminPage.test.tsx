import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadLanguage } from '@/i18n';
import { MemoryRouter } from '@/lib/router';
import { useStore } from '@/store';
import AdminPage from './AdminPage';

const admin = { id: 'a', handle: 'boss', email: 'a@x', roles: ['admin'], permissions: ['system.config_limited'], twoFactorEnabled: true };
const payout = {
  id: 'p1',
  creatorId: 'c1',
  amount: 4000,
  state: 'pending',
  createdAt: '2026-12-07T20:00:00Z',
  decidedAt: null,
  decidedBy: null,
  note: null,
  paid: null,
  withheld: null,
  reserveTx: 1,
  settleTx: null,
};

describe('AdminPage', () => {
  beforeAll(() => loadLanguage('nl'));
  const decided: { url: string; body: unknown }[] = [];
  beforeEach(() => {
    decided.length = 0;
    useStore.setState({ lang: 'en', me: admin as never });
    vi.stubGlobal('fetch', async (input: Request) => {
      const url = new URL(input.url);
      if (url.pathname === '/api/v1/auth/me') return Response.json({ status: 'ok', data: admin });
      if (url.pathname === '/api/v1/admin/payouts') {
        const list = decided.length ? [] : [payout];
        return Response.json({ status: 'ok', data: url.searchParams.get('status') === 'pending' ? list : [], nextCursor: null });
      }
      if (url.pathname.startsWith('/api/v1/admin/payouts/')) {
        decided.push({ url: url.pathname, body: await input.json() });
        return Response.json({ status: 'ok', data: { ...payout, state: 'approved', paid: 4000 } });
      }
      return Response.json({ status: 'ok', data: [], nextCursor: null });
    });
  });
  afterEach(() => vi.unstubAllGlobals());

  function renderPage() {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    return render(
      <QueryClientProvider client={client}>
        <MemoryRouter path="/admin">
          <AdminPage />
        </MemoryRouter>
      </QueryClientProvider>,
    );
  }

  it('approves a waiting payout with a note; the queue empties', async () => {
    renderPage();
    const card = (await screen.findByText('4000 tokens')).closest('li')!;
    await userEvent.type(within(card).getByLabelText('Note (for the record)'), 'checked');
    await userEvent.click(within(card).getByRole('button', { name: 'Approve' }));
    await screen.findByText('Nothing here.');
    expect(decided).toEqual([{ url: '/api/v1/admin/payouts/p1/approve', body: { note: 'checked' } }]);
  });

  it('speaks Dutch when Dutch is chosen', async () => {
    useStore.setState({ lang: 'nl' });
    renderPage();
    expect(await screen.findByRole('tab', { name: 'Uitbetalingen' })).toBeInTheDocument();
    expect(await screen.findByRole('button', { name: 'Goedkeuren' })).toBeInTheDocument();
  });
});
