/** The studio's room-games controls (duels, StripSync, moments) in English and Dutch. */
import { gameAckText, type Lang } from '@/features/watch/gameStrings';
import { defineStrings } from '@/i18n';
import type { Ack } from '@/realtime/socket';

export const adminStrings = defineStrings(
  {
    "duel.endedBy.deadline": "time is up",
    "moments.title": "Trending moments",
    "moments.none": "No trending moments yet.",
    "moments.heat": "heat {n}",
    "syncAdmin.title": "StripSync",
    "syncAdmin.actions": "Actions to queue (one a line)",
    "syncAdmin.queue": "Queue",
    "syncAdmin.next": "Next action (the heaviest)",
    "syncAdmin.drop": "Drop {label}",
    "duelAdmin.title": "Duels",
    "duelAdmin.opponent": "Duel with",
    "duelAdmin.choose": "Choose a live creator",
    "duelAdmin.seconds": "Length in seconds",
    "duelAdmin.invite": "Invite to a duel",
    "duelAdmin.invited": "You are invited to a duel of about {n} min. Answer within {s} s.",
    "duelAdmin.waiting": "Waiting for an answer ({s} s).",
    "duelAdmin.accept": "Accept the duel",
    "duelAdmin.decline": "Decline",
    "duelAdmin.withdraw": "Withdraw the invitation",
    "duelAdmin.end": "End the duel now (forfeit)",
    "duelAdmin.declined": "The duel was declined.",
    "duelAdmin.expired": "The invitation expired.",
    "error.DUEL_BUSY": "One of the two creators is already in a duel or an invitation.",
    "error.DUEL_WITH_SELF": "A stream cannot duel itself.",
    "error.DUEL_OPPONENT_UNAVAILABLE": "The other creator is not live (or is paused) right now.",
    "error.DUEL_NOT_PENDING": "This invitation was already answered or expired.",
    "error.DUEL_NOT_LIVE": "This duel is not running.",
    "error.DUEL_NOT_FOUND": "No such duel here.",
  },
  {
    "duel.endedBy.deadline": "de tijd is om",
    "moments.title": "Trending momenten",
    "moments.none": "Nog geen trending momenten.",
    "moments.heat": "hitte {n}",
    "syncAdmin.title": "StripSync",
    "syncAdmin.actions": "Acties in de wachtrij (één per regel)",
    "syncAdmin.queue": "In de wachtrij",
    "syncAdmin.next": "Volgende actie (de zwaarste)",
    "syncAdmin.drop": "{label} schrappen",
    "duelAdmin.title": "Duels",
    "duelAdmin.opponent": "Duel met",
    "duelAdmin.choose": "Kies een live creator",
    "duelAdmin.seconds": "Duur in seconden",
    "duelAdmin.invite": "Uitdagen voor een duel",
    "duelAdmin.invited": "Je bent uitgedaagd voor een duel van ongeveer {n} min. Antwoord binnen {s} s.",
    "duelAdmin.waiting": "Wachten op antwoord ({s} s).",
    "duelAdmin.accept": "Duel accepteren",
    "duelAdmin.decline": "Weigeren",
    "duelAdmin.withdraw": "Uitnodiging intrekken",
    "duelAdmin.end": "Duel nu stoppen (opgeven)",
    "duelAdmin.declined": "Het duel is geweigerd.",
    "duelAdmin.expired": "De uitnodiging is verlopen.",
    "error.DUEL_BUSY": "Een van beide creators zit al in een duel of uitnodiging.",
    "error.DUEL_WITH_SELF": "Een stream kan zichzelf niet uitdagen.",
    "error.DUEL_OPPONENT_UNAVAILABLE": "De andere creator is nu niet live (of gepauzeerd).",
    "error.DUEL_NOT_PENDING": "Deze uitnodiging is al beantwoord of verlopen.",
    "error.DUEL_NOT_LIVE": "Dit duel loopt niet.",
    "error.DUEL_NOT_FOUND": "Geen duel gevonden.",
  },
);

/** A refused acknowledgement in words: the duel codes from these strings, else as the watch
 * room words them. */
export function adminAckText(lang: Lang, ack: Ack): string {
  const own = (adminStrings[lang] as Record<string, string>)[`error.${ack.code}`];
  return own ? `${own} (${ack.code})` : gameAckText(lang, ack);
}
