// hls.js's light build has the same API as the full one (minus features we do not use).
declare module 'hls.js/light' {
  export { default } from 'hls.js';
}
