import fs from 'node:fs';
import express from 'express';

/** The baseline: bare Express answering each measured path with the same HTML, held in memory. */
const pages = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as Record<string, string>;
const app = express();
app.get('/page/:name', (req, res) => {
  const html = pages[req.params.name];
  if (html === undefined) res.sendStatus(404);
  else res.type('html').send(html);
});
app.listen(Number(process.argv[3]), '127.0.0.1', () => process.send?.('ready'));
