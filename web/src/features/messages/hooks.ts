/** Server state of direct messages: TanStack Query over the typed client (polled while open). */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, body, data, type Schemas } from '@/api/client';
import { keys } from '@/api/keys';

export type ConversationOut = Schemas['ConversationOut'];
export type MessageOut = Schemas['MessageOut'];

export function useConversations(enabled: boolean) {
  return useQuery({
    queryKey: keys.conversations,
    queryFn: () => data(api.GET('/api/v1/conversations', { params: { query: { limit: 50 } } })),
    enabled,
    refetchInterval: 10_000,
  });
}

export function useMessages(id: string) {
  return useQuery({
    queryKey: keys.messages(id),
    queryFn: () =>
      body(api.GET('/api/v1/conversations/{conversation_id}/messages', { params: { path: { conversation_id: id }, query: { limit: 50 } } })),
    refetchInterval: 5_000,
  });
}

export function useOpenConversation() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (handle: string) => data(api.POST('/api/v1/conversations', { body: { handle } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.conversations }),
  });
}

export function useSend(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (text: string) =>
      data(api.POST('/api/v1/conversations/{conversation_id}/messages', { params: { path: { conversation_id: id } }, body: { text } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.messages(id) });
      void client.invalidateQueries({ queryKey: keys.conversations });
    },
  });
}

export function useMarkRead(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => data(api.POST('/api/v1/conversations/{conversation_id}/read', { params: { path: { conversation_id: id } } })),
    onSuccess: (r) => {
      if (r.marked > 0) void client.invalidateQueries({ queryKey: keys.conversations });
    },
  });
}
