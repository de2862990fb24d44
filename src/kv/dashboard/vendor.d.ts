// parse-prometheus-text-format ships no types; the tests read its output through their own.
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
