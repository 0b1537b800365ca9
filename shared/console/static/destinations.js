// The six destination types and the fields of their destination_config, as
// docs/openapi.yaml declares them (DatadogConfig, GrafanaLokiConfig,
// SplunkHECConfig, HTTPConfig, EventBridgeConfig, S3Config). Each field's
// name is its JSON path in the request, so an API error's `field` finds it.
//
// kinds: text, secret (write-only: answered as <name>_last_four), number,
// bool, select, list (one value a line → array), map (one "key<sep>value" a
// line → object).

export const TYPES = [
  { value: 'http', label: 'Webhook (HTTP)' },
  { value: 'datadog', label: 'Datadog' },
  { value: 'grafana_loki', label: 'Grafana Loki' },
  { value: 'splunk_hec', label: 'Splunk HTTP Event Collector' },
  { value: 'eventbridge', label: 'Amazon EventBridge' },
  { value: 's3', label: 'Amazon S3' },
];

export function typeLabel(t) {
  const found = TYPES.find((x) => x.value === t);
  return found ? found.label : t;
}

const DATADOG_SITES = [
  ['datadoghq.com', 'US1 — datadoghq.com'],
  ['us3.datadoghq.com', 'US3 — us3.datadoghq.com'],
  ['us5.datadoghq.com', 'US5 — us5.datadoghq.com'],
  ['datadoghq.eu', 'EU1 — datadoghq.eu'],
  ['ap1.datadoghq.com', 'AP1 — ap1.datadoghq.com'],
  ['ap2.datadoghq.com', 'AP2 — ap2.datadoghq.com'],
  ['uk1.datadoghq.com', 'UK1 — uk1.datadoghq.com'],
  ['ddog-gov.com', 'US1-FED — ddog-gov.com'],
  ['us2.ddog-gov.com', 'US2-FED — us2.ddog-gov.com'],
];

export const FIELDS = {
  http: [
    { key: 'endpoint', kind: 'text', label: 'Endpoint URL', required: true, input: 'url', help: 'An https URL. Events are POSTed to it.' },
    { key: 'authorization', kind: 'secret', label: 'Authorization header', help: 'The whole header value, such as “Bearer …”. Kept secret.' },
    { key: 'content_format', kind: 'select', label: 'Body format', options: [['JSONLINES', 'JSON lines (a request a batch)'], ['JSONARRAY', 'JSON array (a request a batch)'], ['JSONOBJECT', 'JSON object (a request an event)']], def: 'JSONLINES' },
    { key: 'custom_headers', kind: 'map', sep: ':', label: 'Custom headers', help: 'One “Name: value” a line, at most 20. Shown in clear: credentials belong in Authorization.' },
    { key: 'signing_secret', kind: 'secret', label: 'Signing secret', help: 'A Standard Webhooks secret (whsec_…). Leave empty for unsigned requests.' },
    { key: 'generate_signing_secret', kind: 'bool', label: 'Generate a signing secret', help: 'logstream makes one and shows it once, after saving.', onlyIfSet: true },
  ],
  datadog: [
    { key: 'site', kind: 'select', label: 'Datadog site', required: true, options: DATADOG_SITES, def: 'datadoghq.com' },
    { key: 'api_key', kind: 'secret', label: 'API key', required: true, help: '32 hexadecimal characters. Kept secret.' },
    { key: 'service', kind: 'text', label: 'Service', help: 'The logs’ service attribute.' },
    { key: 'source', kind: 'text', label: 'Source', help: 'The logs’ ddsource attribute.' },
    { key: 'tags', kind: 'list', label: 'Tags', help: 'One “key:value” or “value” a line.' },
  ],
  grafana_loki: [
    { key: 'hostname', kind: 'text', label: 'Loki host', help: 'Such as logs-prod-eu-west-0.grafana.net, with an optional port; no scheme or path.' },
    { key: 'username', kind: 'text', label: 'User', help: 'Basic-auth user; no colon.' },
    { key: 'password', kind: 'secret', label: 'Password or token', required: true, help: 'Basic-auth password. Kept secret.' },
    { key: 'tenant_id', kind: 'text', label: 'Tenant ID', help: 'Sent as X-Scope-OrgID.' },
    { key: 'format', kind: 'select', label: 'Push format', options: [['protobuf', 'Protobuf (snappy)'], ['json', 'JSON']], def: 'protobuf' },
    { key: 'labels', kind: 'map', sep: '=', label: 'Labels', help: 'One “name=value” a line, at most 13.' },
    { key: 'url', kind: 'text', label: 'Push URL override', input: 'url', help: 'Local development deployments only; leave empty otherwise.' },
  ],
  splunk_hec: [
    { key: 'url', kind: 'text', label: 'Collector URL', input: 'url', help: 'The collector’s https base URL with its port (8088 by default). Or give a host below.' },
    { key: 'host', kind: 'text', label: 'Host', help: 'Host name or IP address, without port. Used when no URL is given.' },
    { key: 'port', kind: 'number', label: 'Port', min: 1, max: 65535, help: 'Default 8088.' },
    { key: 'tls', kind: 'bool', label: 'Use TLS', def: true, help: 'Must stay on outside local development.' },
    { key: 'token', kind: 'secret', label: 'HEC token', required: true, help: 'A GUID. Kept secret.' },
    { key: 'index', kind: 'text', label: 'Index' },
    { key: 'source', kind: 'text', label: 'Source' },
    { key: 'sourcetype', kind: 'text', label: 'Source type' },
  ],
  eventbridge: [
    { key: 'event_bus_arn', kind: 'text', label: 'Event bus ARN', required: true, help: 'arn:aws:events:REGION:ACCOUNT:event-bus/NAME' },
    { key: 'region', kind: 'text', label: 'Region', help: 'Taken from the ARN when empty.' },
    { key: 'source', kind: 'text', label: 'Source', help: 'The entries’ Source; default logstream; must not start with aws.' },
    { key: 'detail_type', kind: 'text', label: 'Detail type', help: 'Empty: each event’s own type.' },
  ],
  s3: [
    { key: 'bucket', kind: 'text', label: 'Bucket', required: true },
    { key: 'region', kind: 'text', label: 'Region', required: true, help: 'Such as eu-west-1.' },
    { key: 'prefix', kind: 'text', label: 'Key prefix', help: 'Such as logs/prod/; no leading slash.' },
    { key: 'role_arn', kind: 'text', label: 'Role ARN', help: 'Assumed to write to the bucket, when set.' },
  ],
};

// lastFour is what a stored secret shows: its last four characters, "" when
// it is too short to show any, undefined when no secret is stored.
export function lastFour(config, key) {
  if (!config) return undefined;
  return config[key + '_last_four'];
}

// target says in a few words where a stream sends: a host, a site, a bus, a
// bucket. For lists, beside the type.
export function target(type, c) {
  if (!c) return '';
  const host = (u) => {
    try { return new URL(u).host; } catch { return u || ''; }
  };
  switch (type) {
    case 'http': return host(c.endpoint);
    case 'datadog': return c.site || '';
    case 'grafana_loki': return c.hostname || host(c.url);
    case 'splunk_hec': return c.url ? host(c.url) : [c.host, c.port].filter(Boolean).join(':');
    case 'eventbridge': return (c.event_bus_arn || '').split('/').pop();
    case 's3': return [c.bucket, c.prefix].filter(Boolean).join('/');
  }
  return '';
}
