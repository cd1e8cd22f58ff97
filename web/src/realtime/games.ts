/** The room games' Socket.IO events (duels, StripSync, trending moments) folded into the chat
 * slice and the query cache: `socket.ts` loads this module once the connection is up. */
import type { QueryClient } from '@tanstack/react-query';
import type { Socket } from 'socket.io-client';
import { keys } from '@/api/keys';
import { gameStrings } from '@/features/watch/gameStrings';
import { useStore, type Duel, type SyncAction } from '@/store';
import type { Ack, ClientEvents, ServerEvents } from './socket';

type S = Socket<ServerEvents, ClientEvents>;

export function listenGames(s: S, queryClient: QueryClient | null): void {
  const st = useStore.getState;
  const duel = (e: { duel: Duel }) => {
    for (const id of [e.duel.challengerStreamId, e.duel.opponentStreamId]) {
      if (st().rooms[id]) st().patchRoom(id, { duel: e.duel });
    }
  };
  for (const name of ['duel:invited', 'duel:declined', 'duel:started', 'duel:ended'] as const) s.on(name, duel);
  s.on('duel:score', (e) => {
    for (const [id, room] of Object.entries(st().rooms)) {
      if (room.duel?.id === e.duelId && room.duel.state === 'live') st().patchRoom(id, { duel: { ...room.duel, scores: e.scores } });
    }
  });
  // sync:picked needs nothing of its own: the board that follows every pick lists it.
  s.on('sync:board', ({ streamId, queued, picked }) => st().patchRoom(streamId, { sync: { queued, picked } }));
  s.on('moment:marked', (e) => {
    st().addFeed(e.streamId, { kind: 'notice', id: e.id, text: gameStrings(st().lang)('moment') });
    void queryClient?.invalidateQueries({ queryKey: keys.moments(e.streamId) });
  });
}

/** A joined room's duel and StripSync board as they are now. */
export async function joinGames(s: S, streamId: string): Promise<void> {
  const duel = (await s.timeout(10_000).emitWithAck('duel:get', { streamId })) as Ack;
  if (duel.ok) useStore.getState().patchRoom(streamId, { duel: (duel.duel as Duel | null) ?? null });
  const sync = (await s.timeout(10_000).emitWithAck('sync:get', { streamId })) as Ack;
  if (sync.ok) useStore.getState().patchRoom(streamId, { sync: { queued: sync.queued as SyncAction[], picked: sync.picked as SyncAction[] } });
}
