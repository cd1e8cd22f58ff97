/** The inbox's own words for paid messages, attachments and typing (English and Dutch),
 * loaded with its chunk. */
import { defineStrings } from '@/i18n';

export const strings = defineStrings(
  {
    'locked': '🔒 A paid message: {n} tokens',
    'unlock': 'Unlock for {n}',
    'paid': 'Paid message · {n} tokens',
    'typing': '{handle} is typing…',
    'price': 'Price (tokens)',
    'attachment': 'Attachment',
    'attachment.pending': '📎 Being checked before delivery…',
    'attachment.held': '📎 Held by moderation: not delivered',
    'attachment.rejected': '📎 Refused: not delivered',
    'attach': 'Attach a picture or video',
    'attaching': 'Uploading…',
  },
  {
    'locked': '🔒 Een betaald bericht: {n} tokens',
    'unlock': 'Ontgrendel voor {n}',
    'paid': 'Betaald bericht · {n} tokens',
    'typing': '{handle} typt…',
    'price': 'Prijs (tokens)',
    'attachment': 'Bijlage',
    'attachment.pending': '📎 Wordt gecontroleerd voor bezorging…',
    'attachment.held': '📎 Tegengehouden door moderatie: niet bezorgd',
    'attachment.rejected': '📎 Geweigerd: niet bezorgd',
    'attach': 'Foto of video bijvoegen',
    'attaching': 'Uploaden…',
  },
);
