// Bundles the dashboard page (src/dashboard-ui) into dist/dashboard-ui/, which `kachiku dashboard`
// serves: one app.js (Preact and htm included; nothing is fetched from a CDN at run time) and
// app.css. Part of `npm run build`.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { URL } from 'node:url';

const out = new URL('../dist/dashboard-ui/', import.meta.url);
await mkdir(out, { recursive: true });
await build({
  entryPoints: [new URL('../src/dashboard-ui/main.ts', import.meta.url).pathname],
  outfile: new URL('app.js', out).pathname,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
await copyFile(new URL('../src/dashboard-ui/app.css', import.meta.url), new URL('app.css', out));
