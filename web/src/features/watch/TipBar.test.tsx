import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from '@/lib/router';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadLanguage } from '@/i18n';
import { useStore } from '@/store';
import { QUICK_TIPS, TipBar } from './TipBar';

function renderBar(live = true) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter>
        <TipBar streamId="11111111-1111-1111-1111-111111111111" live={live} />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe('TipBar', () => {
  beforeAll(() => loadLanguage('nl'));
  const calls: { url: string; body: unknown; key: string | null }[] = [];
  beforeEach(() => {
    calls.length = 0;
    useStore.setState({ lang: 'en', me: { id: 'u', handle: 'ann', email: 'a@x', roles: ['member'], permissions: [], twoFactorEnabled: false } });
    vi.stubGlobal('fetch', async (input: Request) => {
      const url = input.url;
      if (url.endsWith('/tip-menu')) return Response.json({ status: 'ok', data: [{ id: 'm1', label: 'Dance', price: 30, position: 0, active: true }] });
      if (url.endsWith('/tip')) {
        calls.push({ url, body: await input.json(), key: input.headers.get('Idempotency-Key') });
        const amount = (calls.at(-1)!.body as { amount: number }).amount;
        if (amount === 500) {
          return Response.json({ status: 'error', code: 'INSUFFICIENT_FUNDS', message: 'no', requestId: 'r', meta: {} }, { status: 402 });
        }
        return Response.json({ status: 'ok', data: { amount, balance: 70, tipId: 't', streamId: 's', createdAt: '', split: {}, feeSchedule: '', goalId: null, menuItem: null, message: null } });
      }
      return Response.json({ status: 'ok', data: {} });
    });
  });
  afterEach(() => vi.unstubAllGlobals());

  it('offers the quick amounts from 5 to 500 tokens', () => {
    renderBar();
    for (const n of QUICK_TIPS) expect(screen.getByRole('button', { name: `Tip ${n} tokens` })).toBeEnabled();
    expect(QUICK_TIPS[0]).toBe(5);
    expect(QUICK_TIPS.at(-1)).toBe(500);
  });

  it('sends a quick tip with its own idempotency key and shows the new balance', async () => {
    renderBar();
    await userEvent.click(screen.getByRole('button', { name: 'Tip 25 tokens' }));
    await screen.findByText('You tipped 25 tokens');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).toMatchObject({ amount: 25, menuItemId: null });
    expect(calls[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(useStore.getState().balance).toBe(70);
  });

  it("shows the API's refusal in the chosen language with a way to buy tokens", async () => {
    useStore.setState({ lang: 'nl' });
    renderBar();
    await userEvent.click(screen.getByRole('button', { name: '500 tokens fooi geven' }));
    expect(await screen.findByText('Niet genoeg tokens. (INSUFFICIENT_FUNDS)')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Tokens kopen' })).toHaveAttribute('href', '/wallet');
  });

  it('disables tipping while the stream is not live', () => {
    renderBar(false);
    expect(screen.getByRole('button', { name: 'Tip 5 tokens' })).toBeDisabled();
  });

  it('sends a tip-menu item at its price', async () => {
    renderBar();
    const toggle = await screen.findByRole('button', { name: 'Tip menu' });
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    await userEvent.click(toggle);
    await userEvent.click(await screen.findByRole('button', { name: /Dance/ }));
    await waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]!.body).toMatchObject({ amount: 30, menuItemId: 'm1' });
  });
});
