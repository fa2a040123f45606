// Vite builds the developer portal (web/portal/) into plain files that the C++ build embeds in
// the binary beside the dashboard. The output directory is given on the command line:
// `npm run build:portal -- --outDir DIR --emptyOutDir` (without it: web/portal/dist).
// `base: './'` keeps every URL relative, so the same build works wherever the portal is
// published (PathPrefix(`/portal`), a prefix added by a proxy...).
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

export default defineConfig({
  root: fileURLToPath(new URL('./portal', import.meta.url)),
  base: './',
  esbuild: { jsx: 'automatic' },
  build: {
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
    modulePreload: { polyfill: false },
  },
})
