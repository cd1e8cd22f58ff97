/** The profile page's strings in English and Dutch, in the screen's own chunk (not in the first
 * one, which every route pays for). Read with `useT(strings)`; the keys keep their full names. */
import { defineStrings } from '@/i18n';

export const strings = defineStrings(
  {
    'profile.follow': 'Follow',
    'profile.tiers': 'Subscriptions',
    'profile.perMonth': '{n} tokens a month',
    'profile.subscribe': 'Subscribe',
    'profile.subscribed': 'Subscribed.',
    'profile.posts': 'Posts',
    'profile.noPosts': 'No posts yet.',
    'profile.locked': 'Locked',
    'profile.block': 'Block',
    'profile.unblock': 'Unblock',
    'profile.blocked': 'You blocked this account.',
    'profile.stories': 'Stories and highlights',
    'profile.message': 'Message',
    'twin.ask': "Ask the AI twin",
  },
  {
    'profile.follow': 'Volgen',
    'profile.tiers': 'Abonnementen',
    'profile.perMonth': '{n} tokens per maand',
    'profile.subscribe': 'Abonneren',
    'profile.subscribed': 'Geabonneerd.',
    'profile.posts': 'Posts',
    'profile.noPosts': 'Nog geen posts.',
    'profile.locked': 'Vergrendeld',
    'profile.block': 'Blokkeren',
    'profile.unblock': 'Deblokkeren',
    'profile.blocked': 'Je hebt dit account geblokkeerd.',
    'profile.stories': 'Verhalen en hoogtepunten',
    'profile.message': 'Bericht sturen',
    'twin.ask': "Vraag het de AI-tweeling",
  },
);
