/**
 * RabbitMQ through amqplib: a confirm channel publishes (a send is accepted when the broker confirms
 * it), a consumer with `prefetch` acks each message. The queue is not durable and messages are not
 * persistent, as the bench's Redis has no persistence either; it expires a minute after its last use, so
 * a bench that dies leaves nothing behind on the shared broker. RabbitMQ keeps no data in Redis.
 */
import { connect } from "amqplib";
import type { Payload } from "./payload.js";
import type { QueueConsumer, QueueProducer, QueueSystem, QueueTarget } from "./queue-system.js";

/** An unused queue disappears from the broker this long after its last consumer and publish, in ms. */
const QUEUE_EXPIRES_MS = 60_000;
const QUEUE_OPTIONS = { durable: false, arguments: { "x-expires": QUEUE_EXPIRES_MS } };

function amqpUrl(target: QueueTarget): string {
  if (!target.amqpUrl) throw new Error("a RabbitMQ producer or consumer needs an AMQP URL");
  return target.amqpUrl;
}

export const rabbitmqQueue: QueueSystem = {
  async producer(target, queue): Promise<QueueProducer> {
    const connection = await connect(amqpUrl(target));
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(queue, QUEUE_OPTIONS);
    const publish = (message: Payload) =>
      new Promise<void>((resolve, reject) => {
        channel.sendToQueue(queue, Buffer.from(JSON.stringify(message)), {}, (error) =>
          error ? reject(error) : resolve(),
        );
      });
    return {
      sendOne: publish,
      async sendBatch(messages) {
        await Promise.all(messages.map(publish));
      },
      async close() {
        await connection.close();
      },
    };
  },

  async consumer(target, queue, listener, { inFlight }): Promise<QueueConsumer> {
    const connection = await connect(amqpUrl(target));
    const channel = await connection.createChannel();
    await channel.assertQueue(queue, QUEUE_OPTIONS);
    await channel.prefetch(inFlight);
    await channel.consume(queue, (message) => {
      if (!message) return;
      listener.received(JSON.parse(message.content.toString()) as Payload);
      channel.ack(message);
      listener.settled();
    });
    return {
      async drained() {},
      async close() {
        await channel.deleteQueue(queue).catch(() => {});
        await connection.close();
      },
    };
  },
};
