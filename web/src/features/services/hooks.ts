/** Server state of provider services and bookings. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, body, data, idempotencyKey, type Schemas } from '@/api/client';
import { keys } from '@/api/keys';

export type Service = Schemas['ServiceOut'];
export type Slot = Schemas['ServiceSlotOut'];
export type Booking = Schemas['BookingOut'];
export type ServiceCreate = Schemas['ServiceCreate'];

export function useServices() {
  return useQuery({
    queryKey: keys.services,
    queryFn: async () => (await body(api.GET('/api/v1/services', { params: { query: { limit: 50 } } }))).data,
  });
}

export function useService(id: string) {
  return useQuery({
    queryKey: keys.service(id),
    queryFn: () => data(api.GET('/api/v1/services/{service_id}', { params: { path: { service_id: id } } })),
  });
}

export function useSlots(id: string) {
  return useQuery({
    queryKey: keys.slots(id),
    queryFn: async () =>
      (await body(api.GET('/api/v1/services/{service_id}/slots', { params: { path: { service_id: id }, query: { limit: 200 } } }))).data,
  });
}

export function useBookings(as: 'member' | 'provider', enabled: boolean) {
  return useQuery({
    queryKey: keys.bookings(as),
    queryFn: async () => (await body(api.GET('/api/v1/bookings', { params: { query: { as, limit: 50 } } }))).data,
    enabled,
  });
}

export function useBook(serviceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (v: { slotId: string; priceId: string }) =>
      data(
        api.POST('/api/v1/services/{service_id}/bookings', {
          params: { path: { service_id: serviceId }, header: { 'Idempotency-Key': idempotencyKey() } },
          body: v,
        }),
      ),
    onSettled: () => {
      void client.invalidateQueries({ queryKey: keys.slots(serviceId) });
      void client.invalidateQueries({ queryKey: ['bookings'] });
      void client.invalidateQueries({ queryKey: keys.balance });
    },
  });
}

export function useCreateService() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (v: ServiceCreate) => data(api.POST('/api/v1/services', { body: v })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.services }),
  });
}

export function useSetActive(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (active: boolean) =>
      data(api.PATCH('/api/v1/services/{service_id}', { params: { path: { service_id: id } }, body: { active } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.services }),
  });
}

export function useAddSlot(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (v: { start: string; durationMinutes: number }) =>
      data(api.POST('/api/v1/services/{service_id}/slots', { params: { path: { service_id: id } }, body: { slots: [v] } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.slots(id) }),
  });
}

export type BookingAction = 'accept' | 'decline' | 'cancel' | 'complete';

export function useBookingAction() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, action }: { id: string; action: BookingAction | 'go-live' }): Promise<unknown> => {
      const path = { params: { path: { booking_id: id } } };
      switch (action) {
        case 'accept':
          return data(api.POST('/api/v1/bookings/{booking_id}/accept', path));
        case 'decline':
          return data(api.POST('/api/v1/bookings/{booking_id}/decline', path));
        case 'cancel':
          return data(api.POST('/api/v1/bookings/{booking_id}/cancel', path));
        case 'complete':
          return data(api.POST('/api/v1/bookings/{booking_id}/complete', path));
        default:
          return data(api.POST('/api/v1/bookings/{booking_id}/go-live', path));
      }
    },
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['bookings'] });
      void client.invalidateQueries({ queryKey: keys.balance });
    },
  });
}

export function useBooking(id: string | null) {
  return useQuery({
    queryKey: ['bookings', 'one', id ?? ''],
    queryFn: () => data(api.GET('/api/v1/bookings/{booking_id}', { params: { path: { booking_id: id! } } })),
    enabled: Boolean(id),
  });
}
