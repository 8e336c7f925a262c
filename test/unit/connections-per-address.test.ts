import { describe, expect, it } from "vitest";
import { addressKey, ConnectionsPerAddress } from "../../src/rpc/connections-per-address.js";

describe("connections per address", () => {
  it("admits up to the cap per address, and again after a release", () => {
    const open = new ConnectionsPerAddress(2);
    const a1 = open.admit("10.0.0.1");
    const a2 = open.admit("10.0.0.1");
    expect(open.admit("10.0.0.1")).toBe(false);
    expect(open.admit("10.0.0.2")).toBe("10.0.0.2");
    expect(a1).toBe("10.0.0.1");
    open.release(a2 as string);
    expect(open.admit("10.0.0.1")).toBe("10.0.0.1");
  });

  it("admits everything with a cap of 0", () => {
    const open = new ConnectionsPerAddress(0);
    for (let i = 0; i < 100; i++) expect(open.admit("10.0.0.1")).toBe("10.0.0.1");
    expect(open.addresses).toBe(0);
  });

  it("counts IPv6 per /64 and IPv4-mapped addresses as IPv4", () => {
    expect(addressKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:0db8:0001:0002::")).toBe("2001:db8:1:2::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressKey("64:ff9b::1.2.3.4")).toBe("64:ff9b:0:0::/64");
    expect(addressKey("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(addressKey("10.1.2.3")).toBe("10.1.2.3");
  });
});
