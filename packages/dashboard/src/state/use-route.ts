/** The page's place (state/routes.ts), following the URL's fragment. */
import { useEffect, useState } from "preact/hooks";
import { parseRoute, type Route } from "./routes.js";

export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(() => parseRoute(location.hash));
  useEffect(() => {
    const follow = () => {
      setRoute(parseRoute(location.hash));
      window.scrollTo(0, 0);
    };
    window.addEventListener("hashchange", follow);
    return () => window.removeEventListener("hashchange", follow);
  }, []);
  return route;
}
