// Why going live was refused, in a creator's words, and where to fix it.
// Pure: an error envelope's code (WHIP POST or publish-credentials) in, words and one link out.
// The studio renders it; tests/e2e/test_studio_refusals.py checks what a creator sees.
(function () {
  'use strict';
  const at = (handles) => (handles || []).map((h) => '@' + h).join(', ');

  // ctx: { streamId, signedIn, handle (mine, lower case), identity: 'approved'|'pending'|'rejected'|'none'|null,
  //        identityReason }
  function explain(code, error, ctx) {
    const e = error || {}, meta = e.meta || {}, me = ctx.handle;
    const retry = { href: '#golive', label: 'Try again' };
    const signIn = { href: '#login', label: 'Sign in' };
    const whoElse = (list) => list.filter((h) => h !== me);
    switch (code) {
      case 'PERFORMER_NOT_VERIFIED': {
        const list = meta.performers || [];
        if (!ctx.signedIn) {
          return { text: 'Every performer needs an approved identity check before going live, and ' +
            at(list) + ' has none yet. Sign in as ' + at(list) + ' to send an ID for review.', ...signIn };
        }
        if (list.includes(me)) {
          if (ctx.identity === 'pending') {
            return { text: 'Your identity check is waiting for a moderator\'s review. You can go live as soon ' +
              'as it is approved.', href: '#check-identity', label: 'See your identity check' };
          }
          if (ctx.identity === 'rejected') {
            return { text: 'Your identity check was not approved' + (ctx.identityReason ? ' (' +
              ctx.identityReason + ')' : '') + '. Send a new one to go live.', href: '#check-identity',
              label: 'Send a new identity check' };
          }
          return { text: 'Verify your identity first: send a photo of your ID and a selfie. A moderator ' +
            'checks them once, before your first broadcast.', href: '#check-identity', label: 'Verify your identity' };
        }
        return { text: 'Not everyone on camera is verified yet: ' + at(whoElse(list)) + ' must send an ID ' +
          'for review, signed in to this studio as themselves.', href: '#check-consent', label: 'See who is performing' };
      }
      case 'CONSENT_REQUIRED': {
        const list = meta.performers || [];
        if (!ctx.signedIn) {
          return { text: 'Every performer confirms their consent before each broadcast, and ' + at(list) +
            ' has not yet for this one. Sign in as ' + at(list) + ' to check in.', ...signIn };
        }
        if (list.includes(me)) {
          return { text: 'Confirm that you consent to perform in this broadcast (each broadcast needs a new ' +
            'check-in).', href: '#check-consent', label: 'Check in' };
        }
        return { text: 'Waiting for ' + at(whoElse(list)) + ' to confirm consent for this broadcast: they check ' +
          'in here, signed in as themselves.', href: '#check-consent', label: 'See who has checked in' };
      }
      case 'STREAM_FROZEN':
        return { text: 'Moderation froze this stream' + (meta.reason ? ' (' + meta.reason + ')' : '') +
          '. It can go live again once a moderator has reviewed it and lifted the freeze; you cannot ' +
          'lift it yourself.', href: '#check-standing', label: 'Stream status' };
      case 'ACCOUNT_SUSPENDED':
        return { text: 'Your account is suspended' + (meta.until ? ' until ' + new Date(meta.until).toLocaleString() : '') +
          ', so it cannot go live. You can appeal the decision.', href: '#check-standing', label: 'Account status' };
      case 'ACCOUNT_BANNED':
        return { text: 'Your account is banned, so it cannot go live. You can appeal the decision.',
          href: '#check-standing', label: 'Account status' };
      case 'INVALID_PUBLISH_TOKEN':
        return { text: 'The publish token is wrong or has expired. Sign in as the stream\'s creator, or ' +
          'paste the token that came with the stream.', ...signIn };
      case 'NOT_STREAM_OWNER':
        return { text: 'This stream belongs to another account: sign in as its creator to go live.', ...signIn };
      case 'AUTH_REQUIRED':
      case 'UNAUTHORIZED':
        return { text: 'Your sign-in has ended: sign in again to go live.', ...signIn };
      case 'STREAM_NOT_FOUND':
        return { text: 'This stream does not exist (any more): check the studio link you were given.',
          href: '/', label: 'Start page' };
      case 'STREAM_ALREADY_LIVE':
        return { text: 'This stream is already live, from another tab or device. Stop that broadcast ' +
          'first, or watch it.', href: '/watch/' + ctx.streamId, label: 'Watch it' };
      case 'SDP_NO_VIDEO':
        return { text: 'No camera picture reached the server: let this page use your camera, then try again.',
          ...retry };
      case 'NO_COMMON_CODEC':
      case 'INVALID_SDP':
      case 'UNSUPPORTED_MEDIA_TYPE':
      case 'PAYLOAD_TOO_LARGE':
        return { text: 'The server could not use the video your browser offered. Try a current Chrome, ' +
          'Edge, Firefox or Safari.', ...retry };
      case 'RATE_LIMITED':
        return { text: 'Too many attempts in a short time: wait ' + (e.retryAfter || 60) +
          ' seconds, then try again.', ...retry };
      case 'NETWORK':
        return { text: 'The server cannot be reached: check your connection, then try again.', ...retry };
      default:
        if (!code || (e.status || 0) >= 500) {
          return { text: 'The server could not start the broadcast just now: try again in a moment.', ...retry };
        }
        return { text: 'Going live was refused: ' + (e.message || 'no reason given') + '.', ...retry };
    }
  }

  window.teezuGoLiveHelp = { explain };
})();
