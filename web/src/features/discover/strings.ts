/** Discovery's strings (search, languages, ratings; matching, the feed and stream settings share
 * them) in English and Dutch, in the screen's own chunk (not in the first one, which every route
 * pays for). Read with `useT(strings)`; the keys keep their full names. */
import { defineStrings } from '@/i18n';

export const strings = defineStrings(
  {
    'discover.title': 'Live now',
    'discover.search': 'Search',
    'discover.searchPlaceholder': 'Search titles and creators',
    'discover.rating': 'Rating',
    'discover.any': 'Any',
    'discover.language': 'Language',
    'discover.tag': 'Tag',
    'language.nl': 'Dutch',
    'language.en': 'English',
    'language.de': 'German',
    'language.fr': 'French',
    'language.es': 'Spanish',
    'discover.empty': 'Nobody is live right now.',
    'rating.sfw': 'Safe for work',
    'rating.adult': 'Adult',
  },
  {
    'discover.title': 'Nu live',
    'discover.search': 'Zoeken',
    'discover.searchPlaceholder': 'Zoek titels en makers',
    'discover.rating': 'Classificatie',
    'discover.any': 'Alle',
    'discover.language': 'Taal',
    'discover.tag': 'Tag',
    'language.nl': 'Nederlands',
    'language.en': 'Engels',
    'language.de': 'Duits',
    'language.fr': 'Frans',
    'language.es': 'Spaans',
    'discover.empty': 'Er is nu niemand live.',
    'rating.sfw': 'Veilig voor werk',
    'rating.adult': 'Volwassenen',
  },
);
