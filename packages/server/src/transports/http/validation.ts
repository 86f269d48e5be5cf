/**
 * How the HTTP routes check their schemas: with the protocol's own checker (TypeBox), exactly as the
 * Socket.IO commands do, so both refuse the same input with the same `BAD_REQUEST` message. No coercion,
 * no defaults written in, no fields dropped: a string where a number belongs, or an unknown field, is
 * refused, never fixed up. A request with no body is checked as an empty object, so routes whose fields
 * are all optional (receive) can be called with none. A query string is all text: its values are first
 * converted to the types the schema names (`?limit=2` is the number 2; `?limit=two` stays text, refused).
 */
import { parseShape } from "@mailroom/protocol";
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import type { FastifySchemaCompiler } from "fastify";

export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  return (data: unknown) => {
    let value = httpPart === "body" && (data === null || data === undefined) ? {} : data;
    if (httpPart === "querystring") value = Value.Convert(schema, { ...(value as object) });
    try {
      return { value: parseShape(schema, value) };
    } catch (error) {
      return { error: error as Error };
    }
  };
};
