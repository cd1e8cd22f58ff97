import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, within } from '@testing-library/react';
import { MemoryRouter } from '@/lib/router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useStore } from '@/store';
import AffiliatePage from './AffiliatePage';

const ME = { id: 'u', handle: 'ann', email: 'a@x', roles: ['member'], permissions: ['wallet.use'], twoFactorEnabled: false };

describe('AffiliatePage', () => {
  const asked: string[] = [];
  beforeEach(() => {
    asked.length = 0;
    useStore.setState({ lang: 'en', me: ME });
    vi.stubGlobal('fetch', async (input: Request) => {
      const url = new URL(input.url);
      asked.push(`${input.method} ${url.pathname}${url.search}`);
      if (url.pathname.endsWith('/auth/me')) return Response.json({ status: 'ok', data: ME });
      if (url.pathname.endsWith('/affiliates/code'))
        return Response.json({ status: 'ok', data: { code: 'ABCD2345', link: 'https://teezu.test/r/ABCD2345' } });
      if (url.pathname.endsWith('/affiliates/stats'))
        return Response.json({
          status: 'ok',
          data: {
            code: 'ABCD2345',
            since: '2026-11-09T00:00:00Z',
            until: '2026-12-09T00:00:00Z',
            clicks: 7,
            signups: 2,
            conversions: 1,
            earnings: 109,
            periods: [{ start: '2026-12-08T00:00:00Z', clicks: 7, signups: 2, conversions: 1, earnings: 109 }],
          },
        });
      if (url.pathname.endsWith('/creators/me/earnings'))
        return Response.json({ status: 'ok', data: { balance: 109, immature: 109, available: 0, pending: 0, paidOut: 0, holdDays: 30, payoutMin: 100 } });
      return Response.json({ status: 'ok', data: {} });
    });
  });
  afterEach(() => vi.unstubAllGlobals());

  it('shows my code, link and the totals the API counted', async () => {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <MemoryRouter>
          <AffiliatePage />
        </MemoryRouter>
      </QueryClientProvider>,
    );
    expect(await screen.findByTestId('affiliate-code')).toHaveTextContent('ABCD2345');
    expect(screen.getByTestId('affiliate-link')).toHaveTextContent('https://teezu.test/r/ABCD2345');
    const totals = await screen.findByTestId('affiliate-totals');
    expect(within(totals).getAllByRole('cell').map((c) => c.textContent)).toEqual(['7', '2', '1', '109 tokens']);
    expect(asked).toContain('GET /api/v1/affiliates/stats?period=30d&by=day');
  });
});
