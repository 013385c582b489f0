import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ListeningServer {
  /** Where it listens, e.g. http://127.0.0.1:41234. */
  url: string;
  /** Stops listening and ends every connection, hung ones included, so tests never wait on one. */
  close(): Promise<void>;
}

/** Serves a stand-in on its own port (any free one by default), on loopback unless told otherwise. */
export async function listen(handler: http.RequestListener, options: { port?: number; host?: string } = {}): Promise<ListeningServer> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  return {
    url: `http://${urlHost(server.address() as AddressInfo)}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function urlHost({ address, port }: AddressInfo): string {
  // Listening on every interface: a client on this machine reaches it on loopback.
  if (address === '0.0.0.0' || address === '::') return `127.0.0.1:${port}`;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * The status a stand-in answers an error with: the 4xx body-parser and friends attach (a body too
 * large or unreadable is the client's doing), else 500 (a fault in the stand-in).
 */
export function errorStatus(err: unknown): number {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
}
