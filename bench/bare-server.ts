import fs from 'node:fs';
import { gzipSync } from 'node:zlib';
import express from 'express';

/**
 * The baseline: bare Express answering each measured path with the same HTML, held in memory, and
 * gzipped once at start for a client that takes gzip (the bench asks as a browser does).
 */
const pages = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as Record<string, string>;
const gzipped = new Map(Object.entries(pages).map(([name, html]) => [name, gzipSync(html, { level: 9 })]));
const app = express();
app.get('/page/:name', (req, res) => {
  const html = pages[req.params.name];
  if (html === undefined) return void res.sendStatus(404);
  res.type('html').vary('Accept-Encoding');
  if (req.acceptsEncodings('gzip')) res.set('Content-Encoding', 'gzip').send(gzipped.get(req.params.name));
  else res.send(html);
});
app.listen(Number(process.argv[3]), '127.0.0.1', () => process.send?.('ready'));
