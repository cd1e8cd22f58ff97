/** The hub's AI-activity and error panels' words (English and Dutch), loaded with its chunk. */
import { defineStrings } from '@/i18n';

export const strings = defineStrings(
  {
    'ai': 'AI activity',
    'aiFeature': 'Feature',
    'aiRequests': 'Requests',
    'aiRefusals': 'Refused',
    'aiErrors': 'Errors',
    'aiEscalations': 'Escalated to a person',
    'aiP95': "Slowest day's p95 (ms)",
    'errors': 'Unhandled errors',
    'errorType': 'Error',
    'errorWhere': 'Where',
    'errorCount': 'Count',
    'errorLast': 'Last seen',
    'errorRequests': 'Last request ids',
  },
  {
    'ai': 'AI-activiteit',
    'aiFeature': 'Functie',
    'aiRequests': 'Verzoeken',
    'aiRefusals': 'Geweigerd',
    'aiErrors': 'Fouten',
    'aiEscalations': 'Doorgezet naar een mens',
    'aiP95': 'p95 van de traagste dag (ms)',
    'errors': 'Onafgehandelde fouten',
    'errorType': 'Fout',
    'errorWhere': 'Waar',
    'errorCount': 'Aantal',
    'errorLast': 'Laatst gezien',
    'errorRequests': "Laatste request-id's",
  },
);
