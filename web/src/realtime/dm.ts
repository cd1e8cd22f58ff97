/** The inbox's Socket.IO listeners (`dm:*`), folded into the query cache; loaded by
 * `holdInbox` with the inbox screen. */
import type { Socket } from 'socket.io-client';
import type { QueryClient } from '@tanstack/react-query';
import { keys } from '@/api/keys';
import type { ClientEvents, DirectMessage, ServerEvents } from './socket';

interface MessagePage {
  data: DirectMessage[];
  nextCursor?: string | null;
}

/** Put a pushed message into the conversation's first page (newest first), replacing an older
 * copy of it; the inbox's unread counts and last texts are read again. */
function foldMessage(client: () => QueryClient | null, m: DirectMessage): void {
  client()?.setQueryData(keys.messages(m.conversationId), (old: MessagePage | undefined) => {
    if (!old) return old;
    const rest = old.data.filter((x) => x.id !== m.id);
    const at = old.data.findIndex((x) => x.id === m.id);
    return { ...old, data: at >= 0 ? old.data.map((x) => (x.id === m.id ? m : x)) : [m, ...rest] };
  });
  void client()?.invalidateQueries({ queryKey: keys.conversations, exact: true });
}

export function listenDm(s: Socket<ServerEvents, ClientEvents>, client: () => QueryClient | null): void {
  s.on('dm:message', (e) => foldMessage(client, e.message));
  s.on('dm:unlocked', (e) => foldMessage(client, e.message));
  s.on('dm:read', (e) => {
    client()?.setQueryData(keys.messages(e.conversationId), (old: MessagePage | undefined) =>
      old ? { ...old, data: old.data.map((m) => (m.mine && m.readState === 'sent' ? { ...m, readState: 'read' as const, readAt: e.readAt } : m)) } : old,
    );
  });
  s.on('dm:typing', (e) => client()?.setQueryData(keys.dmTyping(e.conversationId), Date.now()));
}
