import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A stand-in for a Kubernetes Service in front of several pods: each new TCP
 * connection goes to the next backend in turn, skipping any that refuses it;
 * a connection whose backend dies is closed (as kube-proxy's would be), and
 * the client's next one reaches a live backend.
 */
export interface TcpBalancer {
  readonly address: string;
  readonly port: number;
  /** The backend each open connection went to ("host:port"), oldest first. */
  openBackends(): string[];
  close(): Promise<void>;
}

export async function startTcpBalancer(backends: readonly string[]): Promise<TcpBalancer> {
  let next = 0;
  const open = new Map<Socket, string>();
  const server: Server = createServer((client) => {
    client.pause();
    let attempts = 0;
    const tryNext = (): void => {
      if (attempts++ >= backends.length) {
        client.destroy();
        return;
      }
      const backend = backends[next++ % backends.length]!;
      const [host, port] = backend.split(":");
      const upstream = connect(Number(port), host);
      // Refused (a dead backend): the next one.
      upstream.once("error", tryNext);
      upstream.once("connect", () => {
        open.set(client, backend);
        upstream.off("error", tryNext);
        upstream.on("error", () => client.destroy());
        client.on("error", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
        client.on("close", () => {
          open.delete(client);
          upstream.destroy();
        });
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryNext();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    port,
    openBackends: () => [...open.values()],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open.keys()) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
