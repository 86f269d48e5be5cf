/** Whether a request accepts a gzipped answer: its `Accept-Encoding` lists gzip (or `*`) without refusing it by `q=0`. */
export function acceptsGzip(header: string | undefined): boolean {
  return (header ?? "").split(",").some((entry) => {
    const [coding, ...parameters] = entry.split(";").map((part) => part.trim().toLowerCase());
    return (coding === "gzip" || coding === "*") && !parameters.some((parameter) => /^q=0(\.0*)?$/.test(parameter));
  });
}
