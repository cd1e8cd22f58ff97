/**
 * One Socket.IO connection per tab (loaded after first paint). Its state goes into the ui
 * slice (`connection`: online / reconnecting), and each room's events are folded into the chat
 * slice and the query cache in one place (`joinRoom`), never by scattered listeners.
 *
 * The handshake authenticates with the session cookie, so signing in or out starts a new
 * connection (`resetSocket`), and rooms are joined again on every (re)connect.
 */
import type { Socket } from 'socket.io-client';
import type { QueryClient } from '@tanstack/react-query';
import { useStore, type ChatMessage, type Duel, type MoodStrip, type Poll, type PollTally, type SyncAction, type SyncBoard } from '@/store';
import { keys } from '@/api/keys';

export interface Ack {
  ok: boolean;
  code?: string;
  message?: string;
  retryAfter?: number;
  meta?: Record<string, unknown>;
  [key: string]: unknown;
}

export type ClientEvents = Record<string, (payload: Record<string, unknown>, ack: (answer: Ack) => void) => void>;

export interface ServerEvents {
  'chat:messages': (e: { streamId: string; messages: ChatMessage[] }) => void;
  'chat:removed': (e: { streamId: string; messageId: string }) => void;
  'chat:viewers': (e: { streamId: string; count: number }) => void;
  'chat:typing': (e: { streamId: string; user: { id: string; handle: string } }) => void;
  'chat:frozen': (e: { streamId: string; frozen: boolean; reason?: string }) => void;
  'chat:banned': (e: { streamId: string; until?: string | null; reason?: string | null }) => void;
  'money:tip': (e: MoneyTip) => void;
  'money:goal.progress': (e: MoneyGoal) => void;
  'money:goal.completed': (e: MoneyGoal) => void;
  'money:unlockable.unlocked': (e: { streamId: string; unlockableId?: string; title?: string }) => void;
  'money:milestone.reached': (e: { streamId: string; id: string; title: string; target: number; progress: number }) => void;
  'money:avatar': (e: { streamId: string; state: string; until: string | null }) => void;
  'mood:distribution': (e: MoodStrip & { streamId: string }) => void;
  'poll:opened': (e: { streamId: string; poll: Poll }) => void;
  'poll:tally': (e: { streamId: string; pollId: string; tally: PollTally[]; voters: number }) => void;
  'poll:closed': (e: { streamId: string; poll: Poll }) => void;
  'mood:update': (e: MoodUpdate) => void;
  'dm:message': (e: { message: DirectMessage }) => void;
  'dm:unlocked': (e: { message: DirectMessage }) => void;
  'dm:read': (e: { conversationId: string; readerId: string; readAt: string | null; marked: number }) => void;
  'dm:typing': (e: { conversationId: string; userId: string; handle: string | null }) => void;
  'duel:invited': (e: { duel: Duel }) => void;
  'duel:declined': (e: { duel: Duel }) => void;
  'duel:started': (e: { duel: Duel }) => void;
  'duel:ended': (e: { duel: Duel }) => void;
  'duel:score': (e: { duelId: string; scores: Duel['scores'] }) => void;
  'sync:board': (e: SyncBoard & { streamId: string }) => void;
  'sync:picked': (e: { streamId: string; action: SyncAction }) => void;
  'moment:marked': (e: { streamId: string; id: string; at: string; heat: number }) => void;
}

/** A direct message as the API sends it (REST's MessageOut, over the socket too). */
export interface DirectMessage {
  id: string;
  conversationId: string;
  senderId: string;
  mine: boolean;
  text: string;
  masked: boolean;
  price: number | null;
  locked: boolean;
  unlocked: boolean;
  readState: 'sent' | 'read';
  readAt: string | null;
  createdAt: string;
}

/** The room's current minute of mood (the same shape as a minute of GET .../mood). */
export interface MoodUpdate {
  streamId: string;
  minute: string;
  moods: Record<string, number>;
  messages: number;
  polarity: number;
  intensity: number;
  dominant: string | null;
}

export interface MoneyTip {
  streamId: string;
  tipId: string;
  amount: number;
  from: string | null;
  menuItem?: { id: string; label: string } | null;
  message?: string | null;
}

export interface MoneyGoal {
  streamId: string;
  goalId?: string;
  progress: number;
  target: number;
}

const games = () => import('@/features/watch/WatchMobile');

let socket: Socket<ServerEvents, ClientEvents> | null = null;
let connecting: Promise<Socket<ServerEvents, ClientEvents>> | null = null;
const joined = new Map<string, number>(); // streamId -> how many screens hold the room
let queryClient: QueryClient | null = null;

export function bindQueryClient(client: QueryClient): void {
  queryClient = client;
}

async function connect(): Promise<Socket<ServerEvents, ClientEvents>> {
  if (socket) return socket;
  if (connecting) return connecting;
  connecting = import('socket.io-client').then(({ io }) => {
    const s: Socket<ServerEvents, ClientEvents> = io({ transports: ['websocket', 'polling'], forceNew: true });
    const ui = useStore.getState();
    ui.setConnection('connecting');
    s.on('connect', () => {
      useStore.getState().setConnection('online');
      for (const streamId of joined.keys()) void join(s, streamId);
    });
    s.on('disconnect', () => {
      useStore.getState().setConnection('reconnecting');
      for (const streamId of joined.keys()) useStore.getState().patchRoom(streamId, { joined: false });
    });
    s.io.on('reconnect_attempt', () => useStore.getState().setConnection('reconnecting'));
    listen(s);
    socket = s;
    connecting = null;
    return s;
  });
  return connecting;
}

function listen(s: Socket<ServerEvents, ClientEvents>): void {
  const st = () => useStore.getState();
  s.on('chat:messages', (e) => st().addMessages(e.streamId, e.messages));
  s.on('chat:removed', (e) => st().removeMessage(e.streamId, e.messageId));
  s.on('chat:viewers', (e) => st().patchRoom(e.streamId, { viewers: e.count }));
  s.on('chat:typing', (e) => st().patchRoom(e.streamId, { typing: e.user.handle }));
  s.on('chat:frozen', (e) => st().patchRoom(e.streamId, { frozen: e.frozen }));
  s.on('chat:banned', (e) => st().patchRoom(e.streamId, { canSend: false, refusal: 'BANNED' }));
  s.on('money:milestone.reached', (e) => {
    void queryClient?.invalidateQueries({ queryKey: keys.milestones(e.streamId) });
    st().addFeed(e.streamId, { kind: 'notice', id: `milestone:${e.id}`, text: `🏁 ${e.title}` });
  });
  s.on('money:avatar', (e) =>
    queryClient?.setQueryData(keys.avatar(e.streamId), (old: unknown) =>
      old && typeof old === 'object' ? { ...old, state: e.state, until: e.until } : old,
    ),
  );
  s.on('money:tip', (e) => {
    queryClient?.setQueryData(keys.milestones(e.streamId), (old: unknown) =>
      Array.isArray(old) ? old.map((m: { progress: number }) => ({ ...m, progress: m.progress + e.amount })) : old,
    );
    st().addFeed(e.streamId, {
      kind: 'tip',
      id: e.tipId,
      handle: e.from ?? '?',
      amount: e.amount,
      label: e.menuItem?.label ?? null,
      message: e.message ?? null,
    });
  });
  const goal = (completed: boolean) => (e: MoneyGoal) => {
    queryClient?.setQueryData(keys.goal(e.streamId), (old: unknown) =>
      old && typeof old === 'object' ? { ...old, progress: e.progress, target: e.target, state: completed ? 'completed' : 'open' } : old,
    );
    if (!completed) void queryClient?.invalidateQueries({ queryKey: keys.goal(e.streamId) });
    st().addFeed(e.streamId, {
      kind: 'goal',
      id: `${e.goalId ?? 'goal'}:${e.progress}:${completed}`,
      progress: e.progress,
      target: e.target,
      completed,
    });
  };
  s.on('money:goal.progress', goal(false));
  s.on('money:goal.completed', goal(true));
  s.on('mood:distribution', ({ streamId, ...strip }) => st().patchRoom(streamId, { mood: strip }));
  s.on('poll:opened', (e) => st().patchRoom(e.streamId, { poll: e.poll }));
  s.on('poll:closed', (e) => st().patchRoom(e.streamId, { poll: e.poll }));
  s.on('poll:tally', (e) => {
    const poll = st().room(e.streamId).poll;
    if (poll?.id === e.pollId && poll.state === 'open') st().patchRoom(e.streamId, { poll: { ...poll, tally: e.tally, voters: e.voters } });
  });
  // The room games' events (duels, StripSync, moments: realtime/games.ts) load with the phone
  // layout's chunk, which the watch route already loads on demand (its byte budget).
  void games().then((g) => g.listenGames(s, queryClient));
  s.on('mood:update', (e) => {
    const { streamId, ...minute } = e;
    queryClient?.setQueryData(keys.mood(streamId), (old: { streamId: string; minutes: (typeof minute)[] } | undefined) => {
      const minutes = (old?.minutes ?? []).filter((m) => new Date(m.minute).getTime() !== new Date(minute.minute).getTime());
      return { streamId, minutes: [...minutes, minute].slice(-15) };
    });
  });
  s.on('money:unlockable.unlocked', (e) =>
    st().addFeed(e.streamId, { kind: 'unlockable', id: e.unlockableId ?? crypto.randomUUID(), title: e.title ?? '' }),
  );
}

async function join(s: Socket<ServerEvents, ClientEvents>, streamId: string): Promise<void> {
  const ack = (await s.timeout(10_000).emitWithAck('chat:join', { streamId })) as Ack;
  const st = useStore.getState();
  if (!ack.ok) {
    st.patchRoom(streamId, { joined: false, canSend: false, refusal: ack.code ?? 'ERROR' });
    return;
  }
  st.patchRoom(streamId, {
    joined: true,
    canSend: Boolean(ack.canSend),
    canModerate: Boolean(ack.canModerate),
    frozen: Boolean(ack.frozen),
    viewers: Number(ack.viewers ?? 0),
    refusal: null,
  });
  // The room's strip as it is now; mood:distribution keeps it current from here on.
  const mood = (await s.timeout(10_000).emitWithAck('mood:get', { streamId })) as Ack;
  if (mood.ok) {
    const { counts, total, votes, windowSeconds } = mood as unknown as MoodStrip;
    useStore.getState().patchRoom(streamId, { mood: { counts, total, votes, windowSeconds } });
  }
  const poll = (await s.timeout(10_000).emitWithAck('poll:get', { streamId })) as Ack;
  if (poll.ok) useStore.getState().patchRoom(streamId, { poll: (poll.poll as Poll | null) ?? null });
  await (await games()).joinGames(s, streamId);
}

/** Hold a room while a screen shows it; returns the release function. */
export function holdRoom(streamId: string): () => void {
  joined.set(streamId, (joined.get(streamId) ?? 0) + 1);
  void connect().then((s) => {
    if (s.connected) void join(s, streamId).catch(() => undefined);
  });
  return () => {
    const n = (joined.get(streamId) ?? 1) - 1;
    if (n > 0) {
      joined.set(streamId, n);
      return;
    }
    joined.delete(streamId);
    if (socket?.connected) socket.emit('chat:leave', { streamId }, () => undefined);
  };
}

/** Send a client event and wait for its acknowledgement (10 s at most). */
export async function emit(event: string, payload: Record<string, unknown>): Promise<Ack> {
  const s = await connect();
  try {
    return (await s.timeout(10_000).emitWithAck(event, payload)) as Ack;
  } catch {
    return { ok: false, code: 'NO_ANSWER', message: 'No answer from the server.' };
  }
}

/** Keep the tab's connection open while the inbox shows: direct messages arrive on it (the
 * account's personal room is joined at the handshake). */
let inbox = false;
export function holdInbox(): void {
  if (inbox) return;
  inbox = true;
  // The dm:* listeners load with the inbox, not with every screen (the watch route's budget).
  void Promise.all([connect(), import('./dm')]).then(([s, dm]) => dm.listenDm(s, () => queryClient));
}

/** A new connection as whoever is signed in now (after sign-in or sign-out). */
export function resetSocket(): void {
  inbox = false;
  if (socket) {
    socket.removeAllListeners();
    socket.disconnect();
  }
  socket = null;
  connecting = null;
  if (joined.size) void connect();
}
