// A loopback proxy that holds every request until the test opens it: a sync pointed at it is known to
// be mid-run (past its start, waiting on a vendor) for as long as the test wants, with no timer.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Gate {
  /** Origin to use in place of the target's. */
  readonly url: string;
  /** Resolves once a request is waiting at the gate. */
  waiting(): Promise<void>;
  /** Forwards the waiting requests and every later one. */
  open(): void;
  close(): Promise<void>;
}

export async function startGate(target: string): Promise<Gate> {
  const to = new URL(target);
  let opened = false;
  const held: (() => void)[] = [];
  let arrived: (() => void) | undefined;
  const someoneWaits = new Promise<void>((resolve) => (arrived = resolve));
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const headers = { ...req.headers, host: to.host };
    const out = httpRequest(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  };
  const server = createServer((req, res) => {
    if (opened) return forward(req, res);
    req.pause();
    held.push(() => {
      req.resume();
      forward(req, res);
    });
    arrived?.();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    waiting: () => someoneWaits,
    open() {
      opened = true;
      for (const go of held.splice(0)) go();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
