/**
 * Whether a RabbitMQ broker answers at the URL: an AMQP connection opened and closed within a short
 * timeout. The bench skips RabbitMQ, with the reason, when none does.
 */
import { connect } from "amqplib";

const PROBE_TIMEOUT_MS = 3000;

/** Undefined when the broker answers, else why not. */
export async function rabbitmqMissing(url: string): Promise<string | undefined> {
  try {
    const connection = await connect(url, { timeout: PROBE_TIMEOUT_MS });
    await connection.close();
    return undefined;
  } catch (error) {
    const where = new URL(url);
    return `no RabbitMQ answered on ${where.host} (${error instanceof Error ? error.message : String(error)})`;
  }
}
