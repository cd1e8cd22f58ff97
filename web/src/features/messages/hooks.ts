/** Server state of direct messages: history over REST (TanStack Query), live updates over the
 * tab's Socket.IO connection (`@/realtime/socket` folds dm:* events into these queries). */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, body, data, idempotencyKey, type Schemas } from '@/api/client';
import { keys } from '@/api/keys';
import { emit } from '@/realtime/socket';

export type ConversationOut = Schemas['ConversationOut'];
export type MessageOut = Schemas['MessageOut'];

export function useConversations(enabled: boolean) {
  return useQuery({
    queryKey: keys.conversations,
    queryFn: () => data(api.GET('/api/v1/conversations', { params: { query: { limit: 50 } } })),
    enabled,
  });
}

export function useMessages(id: string) {
  return useQuery({
    queryKey: keys.messages(id),
    queryFn: () =>
      body(api.GET('/api/v1/conversations/{conversation_id}/messages', { params: { path: { conversation_id: id }, query: { limit: 50 } } })),
  });
}

/** When the other side last typed here (ms since the epoch), from `dm:typing`. */
export function useTyping(id: string) {
  return useQuery<number | null>({ queryKey: keys.dmTyping(id), queryFn: () => null, enabled: false, initialData: null });
}

export function useOpenConversation() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (handle: string) => data(api.POST('/api/v1/conversations', { body: { handle } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.conversations }),
  });
}

function refused(ack: { code?: string; message?: string; retryAfter?: number; meta?: Record<string, unknown> }): ApiError {
  return new ApiError(ack.code === 'RATE_LIMITED' ? 429 : 400, {
    status: 'error',
    code: ack.code ?? 'ERROR',
    message: ack.message ?? '',
    requestId: '',
    retryAfter: ack.retryAfter,
    meta: ack.meta ?? {},
  });
}

/** Send over the socket (acknowledged once stored and pushed to both sides). */
export function useSend(id: string) {
  return useMutation({
    mutationFn: async ({ text, price }: { text: string; price?: number }) => {
      const ack = await emit('dm:send', { conversationId: id, text, ...(price ? { price } : {}) });
      if (!ack.ok) throw refused(ack);
      return ack.message as unknown as MessageOut;
    },
  });
}

export function useMarkRead(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      const ack = await emit('dm:read', { conversationId: id });
      if (!ack.ok) throw refused(ack);
      return Number(ack.marked ?? 0);
    },
    onSuccess: (marked) => {
      if (marked > 0) void client.invalidateQueries({ queryKey: keys.conversations, exact: true });
    },
  });
}

export function sendTyping(id: string): void {
  void emit('dm:typing', { conversationId: id });
}

/** Pay a paid message's price; one key per click, so a retried request pays once. */
export function useUnlock(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (messageId: string) =>
      data(
        api.POST('/api/v1/conversations/{conversation_id}/messages/{message_id}/unlock', {
          params: { path: { conversation_id: id, message_id: messageId }, header: { 'Idempotency-Key': idempotencyKey() } },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.messages(id) });
      void client.invalidateQueries({ queryKey: keys.balance });
    },
  });
}

/** Send a picture or short video (multipart); it reaches the other side after its scan. */
export function useAttach(id: string) {
  return useMutation({
    mutationFn: (form: FormData) =>
      data(
        api.POST('/api/v1/conversations/{conversation_id}/attachments', {
          params: { path: { conversation_id: id } },
          body: form as never,
          bodySerializer: (b: unknown) => b as FormData,
        }),
      ),
  });
}
