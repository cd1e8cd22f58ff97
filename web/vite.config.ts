/// <reference types="vitest/config" />
import { fileURLToPath, URL } from 'node:url';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'vite';

// The app is served by the aiohttp server (api/pages.py) from web/dist: hashed files under
// /assets/ (cached for good), index.html and the service worker never cached.
export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    manifest: 'asset-manifest.json',
    sourcemap: false,
    target: 'es2022',
    rollupOptions: {
      input: { app: fileURLToPath(new URL('./index.html', import.meta.url)) },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/socket.io': { target: 'ws://127.0.0.1:8080', ws: true }, '/hls': 'http://127.0.0.1:8080', '/whip': 'http://127.0.0.1:8080', '/whep': 'http://127.0.0.1:8080' } },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
