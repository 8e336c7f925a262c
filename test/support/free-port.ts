import { createServer } from "node:net";

/** A TCP port free on 127.0.0.1 right now (and, if asked, `plus` above it too). */
export async function freePort(plus?: number): Promise<number> {
  for (;;) {
    const port = await probe(0);
    if (plus === undefined || port + plus > 65535) {
      if (plus === undefined) return port;
      continue;
    }
    if (
      await probe(port + plus).then(
        () => true,
        () => false,
      )
    )
      return port;
  }
}

function probe(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}
