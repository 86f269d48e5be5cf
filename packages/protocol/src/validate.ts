/**
 * Checks a command's argument against its schema, compiled once per schema.
 * A mismatch becomes one `BAD_REQUEST` error naming the first wrong field; names are checked apart
 * (see names.ts), after the shape, so a wrong type is `BAD_REQUEST` and a wrong name `INVALID_NAME`.
 */
import type { Static, TSchema } from "@sinclair/typebox";
import { type TypeCheck, TypeCompiler } from "@sinclair/typebox/compiler";
import { MailroomError } from "./errors.js";

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function compile<T extends TSchema>(schema: T): TypeCheck<T> {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  return check as TypeCheck<T>;
}

/** Returns the value typed by its schema, or throws `BAD_REQUEST` with what is wrong. */
export function parseShape<T extends TSchema>(schema: T, value: unknown): Static<T> {
  const check = compile(schema);
  if (check.Check(value)) return value;
  const first = check.Errors(value).First();
  const where = first?.path ? first.path.slice(1).replaceAll("/", ".") : "";
  const what = first?.message ?? "invalid value";
  throw new MailroomError("BAD_REQUEST", where ? `${where}: ${what}` : `argument: ${what}`);
}
