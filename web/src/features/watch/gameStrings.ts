/** The room's games (duels, StripSync, trending moments) in English and Dutch, loaded with
 * their chunks (the duel and StripSync cards are lazy in the watch room; the rest is studio). */
import type { Ack } from '@/realtime/socket';

// Self-contained (not `@/i18n`'s defineStrings/useStrings, no store): the watch room's lazy
// games chunk imports nothing the route shares, or the bundler splits the route's shared
// chunks finer (more bytes against its budget). The rule is `@/i18n`'s.
function defineStrings<const E extends Record<string, string>>(en: E, nl: Record<keyof E, string>) {
  return { en, nl };
}

export const strings = defineStrings(
  {
    "moment": "A trending moment!",
    "secondsLeft": "{n} s left",
    "closed": "Closed",
    "amount": "Tokens",
    "duel.title": "Duel",
    "duel.us": "This creator: {n}",
    "duel.them": "Other creator: {n}",
    "duel.bar": "{us} against {them} tokens",
    "duel.rule": "The rule: most tokens tipped during the duel wins; equal tokens is a tie; ending early or going offline forfeits.",
    "duel.tie": "A tie: no winner.",
    "duel.weWon": "This creator won the duel!",
    "duel.theyWon": "The other creator won the duel.",
    "duel.endedBy.challenger": "the inviting creator ended it early",
    "duel.endedBy.opponent": "the invited creator ended it early",
    "duel.endedBy.offline": "a creator went offline",
    "sync.title": "StripSync: the room picks what's next",
    "sync.now": "Now #{n}: {label}",
    "sync.points": "{n} points",
    "sync.vote": "Vote",
    "sync.tip": "Tip",
    "sync.voteFor": "Vote for {label}",
    "sync.tipFor": "Tip for {label}",
    "sync.counted": "Counted: {label}",
    "error.SYNC_QUEUE_FULL": "At most 10 actions wait at a time.",
    "error.SYNC_QUEUE_EMPTY": "No action is queued.",
    "error.SYNC_ACTION_GONE": "This action was already picked or dropped.",
    "error.SYNC_ACTION_NOT_FOUND": "No such action here.",
  },
  {
    "moment": "Een trending moment!",
    "secondsLeft": "nog {n} s",
    "closed": "Gesloten",
    "amount": "Tokens",
    "duel.title": "Duel",
    "duel.us": "Deze creator: {n}",
    "duel.them": "Andere creator: {n}",
    "duel.bar": "{us} tegen {them} tokens",
    "duel.rule": "De regel: de meeste tokens getipt tijdens het duel wint; evenveel tokens is gelijkspel; vroeg stoppen of offline gaan is opgeven.",
    "duel.tie": "Gelijkspel: geen winnaar.",
    "duel.weWon": "Deze creator heeft het duel gewonnen!",
    "duel.theyWon": "De andere creator heeft het duel gewonnen.",
    "duel.endedBy.challenger": "de uitdager stopte vroeg",
    "duel.endedBy.opponent": "de uitgedaagde stopte vroeg",
    "duel.endedBy.offline": "een creator ging offline",
    "sync.title": "StripSync: de room kiest wat volgt",
    "sync.now": "Nu #{n}: {label}",
    "sync.points": "{n} punten",
    "sync.vote": "Stem",
    "sync.tip": "Tip",
    "sync.voteFor": "Stem op {label}",
    "sync.tipFor": "Tip voor {label}",
    "sync.counted": "Geteld: {label}",
    "error.SYNC_QUEUE_FULL": "Er wachten hooguit 10 acties tegelijk.",
    "error.SYNC_QUEUE_EMPTY": "Er staat geen actie in de wachtrij.",
    "error.SYNC_ACTION_GONE": "Deze actie is al gekozen of geschrapt.",
    "error.SYNC_ACTION_NOT_FOUND": "Deze actie bestaat hier niet.",
  },
);

type Key = keyof typeof strings.en;

export type Lang = 'en' | 'nl';
export type GameT = (key: Key, vars?: Record<string, string | number>) => string;

/** The games' strings in ``lang`` (`{name}` placeholders filled). */
export function gameStrings(lang: Lang): GameT {
  return (key, vars) => {
    const text = strings[lang][key] ?? strings.en[key] ?? key;
    return vars ? text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole)) : text;
  };
}

/** A refused acknowledgement in words: the games' own codes from these strings, others in
 * the server's words. */
export function gameAckText(lang: Lang, ack: Ack): string {
  const own = strings[lang][`error.${ack.code}` as Key];
  return `${own ?? ack.message} (${ack.code})`;
}
