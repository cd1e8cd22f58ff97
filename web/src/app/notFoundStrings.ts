/** The not-found page's strings in English and Dutch, loaded with the screen's chunk (not in the first one,
 * which every route pays for). The keys keep their full names: `useT(strings)`. */
import { defineStrings } from '@/i18n';

export const strings = defineStrings(
  {
    'notFound.title': 'Page not found',
    'notFound.body': 'There is nothing at this address.',
  },
  {
    'notFound.title': 'Pagina niet gevonden',
    'notFound.body': 'Op dit adres staat niets.',
  },
);
