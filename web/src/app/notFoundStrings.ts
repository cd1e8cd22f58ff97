/** The not-found page's strings in English and Dutch, in the screen's own chunk (not in the first
 * one, which every route pays for). Read with `useT(strings)`; the keys keep their full names. */
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
