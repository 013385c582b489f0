import fs from 'node:fs';
import http from 'node:http';

/** The baseline: Node's own file streaming, nothing else (no routing, no session, no database). */
const [file, port] = process.argv.slice(2) as [string, string];
const size = fs.statSync(file).size;
http
  .createServer((req, res) => {
    if (req.url !== '/file.mp3') return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': 'audio/mpeg', 'Content-Length': size });
    fs.createReadStream(file).pipe(res);
  })
  .listen(Number(port), '127.0.0.1');
