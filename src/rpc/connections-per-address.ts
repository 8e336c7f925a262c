import { isIPv6 } from "node:net";

/**
 * Open connections per client address, admitted up to a cap, so that one
 * client cannot take every connection the global cap
 * (ENGRAM_NET_MAX_CONNECTIONS) allows and lock the others out. A cap of 0
 * turns it off. IPv6 addresses are counted per /64, the block one host is
 * usually given (a client changing addresses inside it is still one client);
 * an IPv4-mapped IPv6 address counts as its IPv4 address.
 */
export class ConnectionsPerAddress {
  private readonly open = new Map<string, number>();

  constructor(private readonly cap: number) {}

  /** The key the address is counted under (pass it to `release`), or false when it is at the cap. */
  admit(address: string | undefined): string | false {
    const key = addressKey(address ?? "");
    if (this.cap === 0) return key;
    const count = this.open.get(key) ?? 0;
    if (count >= this.cap) return false;
    this.open.set(key, count + 1);
    return key;
  }

  release(key: string): void {
    const count = this.open.get(key);
    if (count === undefined) return;
    if (count <= 1) this.open.delete(key);
    else this.open.set(key, count - 1);
  }

  /** Addresses with a connection open (for tests and debugging). */
  get addresses(): number {
    return this.open.size;
  }
}

/** The client an address counts as: itself for IPv4, its /64 for IPv6. */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = "", tail = ""] = address.split("%")[0]!.split("::");
  const left = head === "" ? [] : head.split(":");
  // An embedded IPv4 tail (::ffff:0:1.2.3.4, 64:ff9b::1.2.3.4) is two groups.
  const right = tail === "" ? [] : tail.split(":").flatMap((g) => (g.includes(".") ? ["0", "0"] : [g]));
  const groups = address.includes("::")
    ? [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}
