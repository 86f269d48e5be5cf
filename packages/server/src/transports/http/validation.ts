/**
 * How the HTTP routes check their schemas: with the protocol's own checker (TypeBox), exactly as the
 * Socket.IO commands do, so both refuse the same input with the same `BAD_REQUEST` message. No coercion,
 * no defaults written in, no fields dropped: a string where a number belongs, or an unknown field, is
 * refused, never fixed up. A request with no body is checked as an empty object, so routes whose fields
 * are all optional (receive) can be called with none.
 */
import { parseShape } from "@mailroom/protocol";
import type { TSchema } from "@sinclair/typebox";
import type { FastifySchemaCompiler } from "fastify";

export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  return (data: unknown) => {
    const value = httpPart === "body" && (data === null || data === undefined) ? {} : data;
    try {
      return { value: parseShape(schema, value) };
    } catch (error) {
      return { error: error as Error };
    }
  };
};
