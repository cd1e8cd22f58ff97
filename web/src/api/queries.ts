/**
 * Server state: one TanStack Query hook per read, one mutation per write, all through the
 * generated client. Components never fetch directly.
 */
import { useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { api, body, data, idempotencyKey, type Schemas } from './client';
import { keys } from './keys';
import { useStore } from '@/store';
import { resetSocket } from '@/realtime/socket';

export type StreamOut = Schemas['StreamOut'];
export type GoalOut = Schemas['GoalOut'];
export type MenuItemOut = Schemas['MenuItemOut'];
export type MilestoneOut = Schemas['MilestoneOut'];
export type AvatarOut = Schemas['AvatarOut'];

export function useMe() {
  const setMe = useStore((s) => s.setMe);
  return useQuery({
    queryKey: keys.me,
    queryFn: async () => {
      const res = await api.GET('/api/v1/auth/me');
      if (res.response.status === 401) {
        setMe(null);
        return null;
      }
      const me = await data(Promise.resolve(res));
      setMe(me);
      return me;
    },
    staleTime: 60_000,
  });
}

/** Who is signed in, once the API has said so (``pending`` until then: screens that need an
 * account wait instead of sending a signed-in member to the sign-in page). */
export function useSignedIn() {
  const q = useMe();
  const me = useStore((s) => s.me);
  return { me, pending: q.isPending };
}

/** After sign-in/out: who we are changed, so the cached answers and the socket did too. */
export async function signedInAs(client: QueryClient, me: Schemas['Me'] | null): Promise<void> {
  useStore.getState().setMe(me);
  useStore.getState().setBalance(null);
  client.setQueryData(keys.me, me);
  resetSocket();
  await client.invalidateQueries({ predicate: (q) => q.queryKey[0] !== 'me' });
}

export function useLogout() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => data(api.POST('/api/v1/auth/logout')),
    onSettled: () => signedInAs(client, null),
  });
}

export function useAgeGate(enabled = true) {
  return useQuery({
    queryKey: keys.ageGate,
    queryFn: () => data(api.GET('/api/v1/me/age-gate')),
    enabled,
  });
}

export interface StreamFilters {
  q?: string;
  rating?: 'sfw' | 'adult';
  language?: string;
  tag?: string;
}

export function useLiveStreams(filters: StreamFilters) {
  return useQuery({
    queryKey: keys.streams({ state: 'live', ...filters }),
    queryFn: () =>
      body(
        api.GET('/api/v1/streams', {
          params: { query: { state: 'live', limit: 50, ...clean(filters) } as never },
        }),
      ),
    refetchInterval: 10_000,
  });
}

function clean(filters: StreamFilters): Record<string, string> {
  return Object.fromEntries(Object.entries(filters).filter(([, v]) => v)) as Record<string, string>;
}

export function useStream(id: string) {
  return useQuery({
    queryKey: keys.stream(id),
    queryFn: () => data(api.GET('/api/v1/streams/{stream_id}', { params: { path: { stream_id: id } } })),
    refetchInterval: 5_000,
  });
}

export function useGoal(id: string) {
  return useQuery({
    queryKey: keys.goal(id),
    queryFn: async () => {
      const res = await api.GET('/api/v1/streams/{stream_id}/goal', { params: { path: { stream_id: id } } });
      if (res.response.status === 404) return null;
      return data(Promise.resolve(res));
    },
  });
}

export function useTipMenu(id: string) {
  return useQuery({
    queryKey: keys.tipMenu(id),
    queryFn: () =>
      data(api.GET('/api/v1/streams/{stream_id}/tip-menu', { params: { path: { stream_id: id } } })),
  });
}

/** My stream's mood votes per minute (the studio's mood view), refreshed every half minute. */
export function useStreamMoods(id: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.moods(id),
    queryFn: () => data(api.GET('/api/v1/streams/{stream_id}/moods', { params: { path: { stream_id: id }, query: { minutes: 60 } } })),
    enabled,
    refetchInterval: 30_000,
  });
}

/** My stream's polls and challenges with their results (the studio). */
export function useStreamPolls(id: string) {
  return useQuery({
    queryKey: keys.polls(id),
    queryFn: () => data(api.GET('/api/v1/streams/{stream_id}/polls', { params: { path: { stream_id: id }, query: { limit: 5 } } })),
  });
}

/** The stream's milestones; tips (money:tip) move their progress, money:milestone.reached
 * refetches them (api/realtime/socket.ts). */
export function useMilestones(id: string) {
  return useQuery({
    queryKey: keys.milestones(id),
    queryFn: () => data(api.GET('/api/v1/streams/{stream_id}/milestones', { params: { path: { stream_id: id } } })),
  });
}

/** The stream's trending moments, oldest first; moment:marked refetches them. */
export function useMoments(id: string) {
  return useQuery({
    queryKey: keys.moments(id),
    queryFn: () => data(api.GET('/api/v1/streams/{stream_id}/moments', { params: { path: { stream_id: id } } })),
  });
}

/** The creator's reactive avatar; money:avatar replaces it live. */
export function useAvatar(id: string) {
  return useQuery({
    queryKey: keys.avatar(id),
    queryFn: () => data(api.GET('/api/v1/streams/{stream_id}/avatar', { params: { path: { stream_id: id } } })),
  });
}

export function useChatHistory(id: string) {
  return useQuery({
    queryKey: keys.chat(id),
    queryFn: () =>
      data(api.GET('/api/v1/streams/{stream_id}/chat', { params: { path: { stream_id: id }, query: { limit: 50 } } })),
  });
}

export function useProfile(handle: string) {
  return useQuery({
    queryKey: keys.profile(handle),
    queryFn: () => data(api.GET('/api/v1/users/{handle}', { params: { path: { handle } } })),
  });
}

export function useBalance(enabled: boolean) {
  const setBalance = useStore((s) => s.setBalance);
  return useQuery({
    queryKey: keys.balance,
    queryFn: async () => {
      const wallet = await data(api.GET('/api/v1/wallet/balance'));
      setBalance(wallet.balance);
      return wallet;
    },
    enabled,
  });
}

export function useTip(streamId: string) {
  const client = useQueryClient();
  const setBalance = useStore((s) => s.setBalance);
  return useMutation({
    mutationFn: (tip: { amount: number; menuItemId?: string; message?: string }) =>
      data(
        api.POST('/api/v1/streams/{stream_id}/tip', {
          params: { path: { stream_id: streamId }, header: { 'Idempotency-Key': idempotencyKey() } },
          body: { amount: tip.amount, menuItemId: tip.menuItemId ?? null, message: tip.message ?? null },
        }),
      ),
    onSuccess: (tip) => {
      setBalance(tip.balance);
      void client.invalidateQueries({ queryKey: keys.balance });
    },
  });
}
