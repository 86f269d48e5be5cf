/**
 * A DNS server of the test's own on loopback (UDP, a free port), answering A queries for the names it
 * is given, like Docker's embedded DNS answers a compose service name with one address per replica.
 * `setAddresses` changes the answer at once (a scale up or down); other names get NXDOMAIN, other
 * record types an empty answer. Stopped after the test.
 */
import { createSocket } from "node:dgram";
import * as dnsPacket from "dns-packet";
import { onCleanup } from "./cleanup.js";

/** Short, so a resolver asks again soon after a change. */
const ANSWER_TTL_SECONDS = 1;

export interface DnsServer {
  /** host:port to give a resolver. */
  readonly address: string;
  setAddresses(name: string, addresses: readonly string[]): void;
}

export async function startDnsServer(records: Record<string, readonly string[]>): Promise<DnsServer> {
  const answers = new Map(Object.entries(records).map(([name, addresses]) => [name.toLowerCase(), addresses]));
  const socket = createSocket("udp4");
  socket.on("message", (message, sender) => {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (!question) return;
    const addresses = answers.get(question.name.toLowerCase());
    const reply = dnsPacket.encode({
      type: "response",
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (addresses ? 0 : NXDOMAIN),
      questions: [question],
      answers:
        addresses && question.type === "A"
          ? addresses.map((data) => ({ type: "A", name: question.name, ttl: ANSWER_TTL_SECONDS, data }))
          : [],
    });
    socket.send(reply, sender.port, sender.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => resolve());
  });
  onCleanup(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return {
    address: `127.0.0.1:${socket.address().port}`,
    setAddresses(name, addresses) {
      answers.set(name.toLowerCase(), addresses);
    },
  };
}

/** RCODE 3 in the low bits of the flags. */
const NXDOMAIN = 3;
