/** Server state of platform memberships (member tiers and Creator+). */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, body, data, idempotencyKey, type Schemas } from '@/api/client';
import { keys } from '@/api/keys';

export type Plan = Schemas['MembershipPlanOut'];
export type Membership = Schemas['MembershipOut'];

export function usePlans() {
  return useQuery({
    queryKey: keys.plans,
    queryFn: async () => (await body(api.GET('/api/v1/memberships/plans'))).data,
  });
}

export function useMyMemberships(enabled: boolean) {
  return useQuery({ queryKey: keys.memberships, queryFn: () => data(api.GET('/api/v1/memberships')), enabled });
}

export function useJoin() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (plan: Plan['id']) =>
      data(api.POST('/api/v1/memberships', { params: { header: { 'Idempotency-Key': idempotencyKey() } }, body: { plan } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.memberships });
      void client.invalidateQueries({ queryKey: keys.balance });
      void client.invalidateQueries({ queryKey: keys.me });
    },
  });
}

export function useCancelMembership() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      data(api.POST('/api/v1/memberships/{membership_id}/cancel', { params: { path: { membership_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.memberships }),
  });
}
