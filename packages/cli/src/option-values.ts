/**
 * Parsers for flag values, as commander's `argParser`: whole numbers (the node checks the contract's
 * ranges and answers `BAD_REQUEST`; these only refuse what is not a number at all, or what the CLI itself
 * cannot use), and repeatable `--header name=value` pairs. A refusal is commander's
 * `InvalidArgumentError`, which ends the command as a usage error.
 */
import { InvalidArgumentError } from "commander";

export interface IntegerBounds {
  /** The smallest value the CLI can use. @default no bound */
  min?: number;
}

/** A parser of one whole number, at least `min`. */
export function integerOption(bounds: IntegerBounds = {}): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (value.trim() === "" || !Number.isSafeInteger(parsed)) {
      throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
    }
    if (bounds.min !== undefined && parsed < bounds.min) {
      throw new InvalidArgumentError(`expected at least ${bounds.min}, got ${parsed}`);
    }
    return parsed;
  };
}

/** Adds one `name=value` to the headers given so far (the value may itself hold `=`). */
export function collectHeader(pair: string, headers: Record<string, string> = {}): Record<string, string> {
  const separator = pair.indexOf("=");
  if (separator <= 0) throw new InvalidArgumentError(`expected name=value, got "${pair}"`);
  return { ...headers, [pair.slice(0, separator)]: pair.slice(separator + 1) };
}

/** Adds one value to those given so far, for a repeatable flag. */
export function collectValue(value: string, values: string[] = []): string[] {
  return [...values, value];
}
