/** The age gate's strings in English and Dutch, in the screen's own chunk (not in the first one,
 * which every route pays for). Read with `useT(strings)`; the keys keep their full names. */
import { defineStrings } from '@/i18n';

export const strings = defineStrings(
  {
    'age.title': 'Age check',
    'age.requirement.none': 'Where you are ({where}) adult streams need no age check.',
    'age.requirement.self_declared': 'Where you are ({where}) adult streams need you to declare that you are 18 or older.',
    'age.requirement.verified': 'Where you are ({where}) adult streams need a verified age.',
    'age.level.none': 'You have not declared or verified your age yet.',
    'age.level.self_declared': 'You declared that you are 18 or older.',
    'age.level.verified': 'Your age is verified.',
    'age.unknownPlace': 'unknown location',
    'age.allowed': 'You may watch adult streams here.',
    'age.verifyHow': 'Age verification happens with an identity check: creators and verified members do it from their account. Self-declaration is not enough here.',
    'age.signInFirst': 'to declare your age.',
    'age.declare': 'I declare that I am 18 years or older, and that adult content is legal where I am.',
    'age.confirm': 'Confirm',
  },
  {
    'age.title': 'Leeftijdscontrole',
    'age.requirement.none': 'Waar je bent ({where}) is voor streams voor volwassenen geen leeftijdscontrole nodig.',
    'age.requirement.self_declared': 'Waar je bent ({where}) moet je voor streams voor volwassenen verklaren dat je 18 of ouder bent.',
    'age.requirement.verified': 'Waar je bent ({where}) is voor streams voor volwassenen een geverifieerde leeftijd nodig.',
    'age.level.none': 'Je hebt je leeftijd nog niet verklaard of laten verifiëren.',
    'age.level.self_declared': 'Je hebt verklaard dat je 18 of ouder bent.',
    'age.level.verified': 'Je leeftijd is geverifieerd.',
    'age.unknownPlace': 'onbekende plaats',
    'age.allowed': 'Je mag hier streams voor volwassenen bekijken.',
    'age.verifyHow': 'Leeftijdsverificatie gaat met een identiteitscontrole: makers en geverifieerde leden doen die vanuit hun account. Een eigen verklaring is hier niet genoeg.',
    'age.signInFirst': 'om je leeftijd te verklaren.',
    'age.declare': 'Ik verklaar dat ik 18 jaar of ouder ben, en dat inhoud voor volwassenen legaal is waar ik ben.',
    'age.confirm': 'Bevestigen',
  },
);
