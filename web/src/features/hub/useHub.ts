import { useQuery } from '@tanstack/react-query';
import { api, data } from '@/api/client';
import { keys } from '@/api/keys';

export type Period = '7d' | '30d' | '90d' | '365d';
export const PERIODS: Period[] = ['7d', '30d', '90d', '365d'];

/** The JSON answer (the hub's routes also answer CSV, which the typed client lists too). */
function json<T>(answer: T): Exclude<T, string> {
  return answer as Exclude<T, string>;
}

/** Each hub panel's data for one period (every answer from the views the worker refreshes). */
export function useHub(period: Period) {
  const query = { params: { query: { period } } };
  const growth = useQuery({
    queryKey: keys.hub('growth', period),
    queryFn: async () => json(await data(api.GET('/api/v1/admin/hub/growth', query))),
  });
  const revenue = useQuery({
    queryKey: keys.hub('revenue', period),
    queryFn: async () => json(await data(api.GET('/api/v1/admin/hub/revenue', query))),
  });
  const retention = useQuery({
    queryKey: keys.hub('retention', period),
    queryFn: async () => json(await data(api.GET('/api/v1/admin/hub/retention', query))),
  });
  const streams = useQuery({
    queryKey: keys.hub('streams', period),
    queryFn: async () => json(await data(api.GET('/api/v1/admin/hub/streams', { params: { query: { period, limit: 20 } } }))),
  });
  const creators = useQuery({
    queryKey: keys.hub('creators', period),
    queryFn: async () => json(await data(api.GET('/api/v1/admin/hub/creators', { params: { query: { limit: 20 } } }))),
  });
  const mood = useQuery({
    queryKey: keys.hub('mood', period),
    queryFn: async () => json(await data(api.GET('/api/v1/admin/hub/mood', query))),
  });
  const community = useQuery({
    queryKey: keys.hub('community', period),
    queryFn: async () => json(await data(api.GET('/api/v1/admin/hub/community', query))),
  });
  const ai = useQuery({
    queryKey: keys.hub('ai', period),
    queryFn: async () => json(await data(api.GET('/api/v1/admin/hub/ai', query))),
  });
  const errors = useQuery({
    queryKey: keys.hub('errors', period),
    queryFn: () => data(api.GET('/api/v1/admin/hub/errors', { params: { query: { limit: 20 } } })),
  });
  return { growth, revenue, retention, streams, creators, mood, community, ai, errors };
}

/** Where a panel's CSV export downloads from. */
export function csvUrl(panel: string, period: Period): string {
  return `/api/v1/admin/hub/${panel}?${panel === 'creators' ? '' : `period=${period}&`}format=csv`;
}
