import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A started loopback server: its base URL and a close() for teardown. */
export interface Running {
  readonly url: string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 with a free port (port 0) and returns the base URL. */
export async function listen(server: Server): Promise<Running> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
