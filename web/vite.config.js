// Vite builds the dashboard into plain files that cmake/dashboard.cmake embeds in the binary.
// `base: './'` keeps every URL relative, so the same build works under /dashboard/, under
// api.basePath and behind a proxy that adds a prefix.
import { defineConfig } from 'vite'

export default defineConfig({
  base: './',
  esbuild: { jsx: 'automatic' },
  // `npm run dev`: the API of a causeway running with api.insecure on :8080.
  server: { proxy: { '/api': process.env.CAUSEWAY_API || 'http://127.0.0.1:8080' } },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
    modulePreload: { polyfill: false },
  },
})
