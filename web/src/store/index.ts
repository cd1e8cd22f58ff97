/**
 * Client state in four Zustand slices (server state lives in TanStack Query):
 * - user: who is signed in (mirrors the `me` query so non-React code, e.g. the socket, knows);
 * - wallet: the last balance an action returned (a tip's answer) until the query refetches;
 * - ui: language, low-latency choice, the drawer, the realtime connection state;
 * - chat: per-room messages, viewers, typing and the activity feed, fed by the socket.
 */
import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import type { StateCreator } from 'zustand';
import type { Lang } from '@/i18n';

export interface Me {
  id: string;
  handle: string;
  email: string;
  roles: string[];
  permissions: string[];
  twoFactorEnabled: boolean;
}

export interface ChatMessage {
  id: string;
  streamId: string;
  user: { id: string; handle: string; badges?: string[] };
  text: string;
  sentAt: string;
}

export type FeedItem =
  | { kind: 'tip'; id: string; handle: string; amount: number; label?: string | null; message?: string | null }
  | { kind: 'goal'; id: string; progress: number; target: number; completed: boolean }
  | { kind: 'unlockable'; id: string; title: string }
  | { kind: 'notice'; id: string; text: string };

/** The room's mood strip (`mood:distribution`): votes per mood over the last window. */
export interface MoodStrip {
  counts: Record<string, number>;
  total: number;
  votes: number;
  windowSeconds: number;
}

/** A poll or challenge as the server sends it (`poll:opened`, `poll:tally`, `poll:closed`). */
export interface PollTally {
  option: number;
  votes: number;
  weight: number;
}
export interface Poll {
  id: string;
  streamId: string;
  kind: 'poll' | 'challenge';
  question: string;
  options: string[];
  weighted: boolean;
  state: 'open' | 'closed';
  openedAt: string;
  deadline: string;
  closedAt: string | null;
  closedBy: 'deadline' | 'creator' | null;
  tally: PollTally[];
  voters: number;
  winner: number | null;
  tie: boolean;
}

/** A duel between two rooms as the server sends it (`duel:*` events, `duel:get`). */
export interface Duel {
  id: string;
  challengerStreamId: string;
  opponentStreamId: string;
  rule: 'tips';
  seconds: number;
  state: 'invited' | 'declined' | 'expired' | 'live' | 'ended';
  invitedAt: string;
  respondBy: string;
  startedAt: string | null;
  deadline: string | null;
  endedAt: string | null;
  endedBy: 'deadline' | 'challenger' | 'opponent' | 'offline' | null;
  scores: { challenger: number; opponent: number };
  winner: 'challenger' | 'opponent' | null;
  tie: boolean;
}

/** A StripSync action (`sync:board`, `sync:picked`). */
export interface SyncAction {
  id: string;
  label: string;
  state: 'queued' | 'picked' | 'dropped';
  points: number;
  voters: number;
  order: number | null;
  pickedAt: string | null;
}
export interface SyncBoard {
  queued: SyncAction[];
  picked: SyncAction[];
}

export interface Room {
  messages: ChatMessage[];
  sync: SyncBoard | null;
  mood: MoodStrip | null;
  poll: Poll | null;
  duel: Duel | null;
  feed: FeedItem[];
  viewers: number;
  typing: string | null;
  frozen: boolean;
  canSend: boolean;
  canModerate: boolean;
  joined: boolean;
  refusal: string | null;
}

export type Connection = 'connecting' | 'online' | 'reconnecting';

const MAX_MESSAGES = 500;
const MAX_FEED = 100;

export interface UserSlice {
  me: Me | null;
  setMe: (me: Me | null) => void;
}
export interface WalletSlice {
  balance: number | null;
  setBalance: (balance: number | null) => void;
}
export interface UiSlice {
  lang: Lang;
  lowLatency: boolean;
  drawerOpen: boolean;
  connection: Connection;
  setLang: (lang: Lang) => void;
  setLowLatency: (on: boolean) => void;
  setDrawer: (open: boolean) => void;
  setConnection: (c: Connection) => void;
}
export interface ChatSlice {
  rooms: Record<string, Room>;
  room: (streamId: string) => Room;
  patchRoom: (streamId: string, patch: Partial<Room>) => void;
  addMessages: (streamId: string, messages: ChatMessage[]) => void;
  removeMessage: (streamId: string, messageId: string) => void;
  addFeed: (streamId: string, item: FeedItem) => void;
}

export type State = UserSlice & WalletSlice & UiSlice & ChatSlice;

export const emptyRoom: Room = {
  messages: [],
  sync: null,
  mood: null,
  poll: null,
  duel: null,
  feed: [],
  viewers: 0,
  typing: null,
  frozen: false,
  canSend: false,
  canModerate: false,
  joined: false,
  refusal: null,
};

const userSlice: StateCreator<State, [], [], UserSlice> = (set) => ({
  me: null,
  setMe: (me) => set({ me }),
});

const walletSlice: StateCreator<State, [], [], WalletSlice> = (set) => ({
  balance: null,
  setBalance: (balance) => set({ balance }),
});

function defaultLang(): Lang {
  const nav = typeof navigator !== 'undefined' ? navigator.language : 'en';
  return nav.toLowerCase().startsWith('nl') ? 'nl' : 'en';
}

const uiSlice: StateCreator<State, [], [], UiSlice> = (set) => ({
  lang: defaultLang(),
  lowLatency: false,
  drawerOpen: false,
  connection: 'connecting',
  setLang: (lang) => set({ lang }),
  setLowLatency: (lowLatency) => set({ lowLatency }),
  setDrawer: (drawerOpen) => set({ drawerOpen }),
  setConnection: (connection) => set({ connection }),
});

const chatSlice: StateCreator<State, [], [], ChatSlice> = (set, get) => {
  const update = (streamId: string, f: (room: Room) => Partial<Room>) =>
    set((s) => {
      const room = s.rooms[streamId] ?? emptyRoom;
      return { rooms: { ...s.rooms, [streamId]: { ...room, ...f(room) } } };
    });
  return {
    rooms: {},
    room: (streamId) => get().rooms[streamId] ?? emptyRoom,
    patchRoom: (streamId, patch) => update(streamId, () => patch),
    addMessages: (streamId, incoming) =>
      update(streamId, (room) => {
        const seen = new Set(room.messages.map((m) => m.id));
        const fresh = incoming.filter((m) => !seen.has(m.id));
        if (!fresh.length) return {};
        const merged = [...room.messages, ...fresh].sort((a, b) => a.sentAt.localeCompare(b.sentAt));
        return { messages: merged.slice(-MAX_MESSAGES) };
      }),
    removeMessage: (streamId, messageId) =>
      update(streamId, (room) => ({ messages: room.messages.filter((m) => m.id !== messageId) })),
    addFeed: (streamId, item) =>
      update(streamId, (room) =>
        room.feed.some((f) => f.id === item.id) ? {} : { feed: [item, ...room.feed].slice(0, MAX_FEED) },
      ),
  };
};

export const useStore = create<State>()(
  persist(
    (...a) => ({ ...userSlice(...a), ...walletSlice(...a), ...uiSlice(...a), ...chatSlice(...a) }),
    {
      name: 'teezu.ui',
      // Only preferences are kept on the device: never who is signed in, money or chat.
      partialize: (s) => ({ lang: s.lang, lowLatency: s.lowLatency }),
    },
  ),
);
