/** Runs after every test: stops every Redis, node and socket the test started. */
import { afterEach } from "vitest";
import { stopAll } from "./helpers/cleanup.js";

afterEach(async () => {
  await stopAll();
});
