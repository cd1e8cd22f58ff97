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

const person = { id: 'u1', handle: 'fan_one', displayName: 'Fan One', roles: ['member'], status: 'active', suspendedUntil: null, createdAt: '2026-11-01T10:00:00Z' };
const schedule = { version: '2026-12', creatorBps: 8000, platformBps: 2000, referralBps: 500, platformRounding: 'ceil', effectiveFrom: '2026-12-01T00:00:00Z', state: 'current' };

describe('AdminPage', () => {
  beforeAll(() => loadLanguage('nl'));
  const decided: { url: string; body: unknown }[] = [];
  const users: string[] = [];
  beforeEach(() => {
    decided.length = 0;
    users.length = 0;
    useStore.setState({ lang: 'en', me: admin as never });
    vi.stubGlobal('fetch', async (input: Request) => {
      const url = new URL(input.url);
      if (url.pathname === '/api/v1/auth/me') return Response.json({ status: 'ok', data: admin });
      if (url.pathname === '/api/v1/admin/payouts') {
        const list = decided.length ? [] : [payout];
        return Response.json({ status: 'ok', data: url.searchParams.get('status') === 'pending' ? list : [], nextCursor: null });
      }
      if (url.pathname === '/api/v1/admin/users') {
        users.push(url.search);
        const page = url.searchParams.get('cursor')
          ? [{ ...person, id: 'u2', handle: 'second', roles: ['member'] }]
          : [person];
        return Response.json({ status: 'ok', data: page, nextCursor: url.searchParams.get('cursor') ? null : 'c1' });
      }
      if (url.pathname.startsWith('/api/v1/admin/users/')) {
        decided.push({ url: `${input.method} ${url.pathname}`, body: input.method === 'POST' ? await input.json() : null });
        return Response.json({ status: 'ok', data: { id: 'u1', handle: 'fan_one', roles: ['member', 'moderator'] } });
      }
      if (url.pathname === '/api/v1/admin/fee-schedules') {
        return Response.json({ status: 'ok', data: [schedule], nextCursor: null });
      }
      if (url.pathname.endsWith('/billing-stop')) {
        decided.push({ url: url.pathname, body: await input.json() });
        return Response.json({
          status: 'ok',
          data: { streamId: 's1', reason: 'x', privateShows: [], ticketShows: [], goalId: null, holds: [{ holdId: 'h', purpose: 'pledge', state: 'released', amount: 30, captured: 0 }], captured: 0, released: 30 },
        });
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

  it('searches accounts, pages on, and grants a role from the list', async () => {
    renderPage();
    await userEvent.click(await screen.findByRole('tab', { name: 'Users' }));
    await userEvent.type(screen.getByLabelText('Search (username, name or exact email)'), 'fan');
    await userEvent.click(screen.getByRole('button', { name: 'Filter' }));
    const row = (await screen.findByText('@fan_one')).closest('li')!;
    expect(users.at(-1)).toContain('q=fan');
    await userEvent.selectOptions(within(row).getByLabelText('Role to grant'), 'moderator');
    await userEvent.click(within(row).getByRole('button', { name: 'Grant' }));
    await userEvent.click(within(row).getByRole('button', { name: 'Revoke member from @fan_one' }));
    expect(decided).toEqual([
      { url: 'POST /api/v1/admin/users/fan_one/roles', body: { role: 'moderator' } },
      { url: 'DELETE /api/v1/admin/users/fan_one/roles/member', body: null },
    ]);
    await userEvent.click(screen.getByRole('button', { name: 'Show more' }));
    expect(await screen.findByText('@second')).toBeInTheDocument();
  });

  it('shows the fee schedule in force and stops a stream’s billing after a confirmation', async () => {
    renderPage();
    await userEvent.click(await screen.findByRole('tab', { name: 'Money' }));
    expect(await screen.findByText('Creator 80% · platform 20% (of which referrer 5%)')).toBeInTheDocument();
    expect(screen.getByText('Only a super admin schedules a new fee schedule.')).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('Stream id'), 's1');
    await userEvent.type(screen.getByLabelText('Reason (for the record)'), 'incident');
    await userEvent.click(screen.getByRole('button', { name: 'Stop billing' }));
    expect(decided).toEqual([]);
    await userEvent.click(screen.getByRole('button', { name: 'Confirm: stop billing now' }));
    expect(await screen.findByText('1 holds settled: 30 tokens back to viewers, 0 captured.')).toBeInTheDocument();
    expect(decided).toEqual([{ url: '/api/v1/admin/streams/s1/billing-stop', body: { reason: 'incident' } }]);
  });
});
