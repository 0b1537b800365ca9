// Package splunk delivers events to a "splunk_hec" stream: a Splunk HTTP
// Event Collector (HEC) on Splunk Enterprise or Splunk Cloud Platform.
//
// # Wire format
//
// One batch is one request (Splunk, "HTTP Event Collector REST API
// endpoints": services/collector/event "sends timestamped events … using the
// Splunk platform JSON event protocol"):
//
//	POST <base>/services/collector/event
//	Authorization: Splunk <token>          ("Format events for HTTP Event Collector" → HTTP authentication)
//	Content-Type: application/json
//	Content-Encoding: gzip
//	X-Splunk-Request-Channel: <uuid>       (one per Sender; required when the token has indexer acknowledgement)
//	User-Agent: <Sender.UserAgent>
//
// The body, before compression, is one JSON envelope per event, each ended
// by a newline. HEC takes a batch as envelopes stacked one after another,
// with no array around them and no separator required ("HTTP Event Collector
// examples" → batched data; "Format events for HTTP Event Collector" → event
// metadata for the keys):
//
//	{"time":1795505531.793,"host":"logstream","source":"logstream","sourcetype":"_json","index":"auth","event":{…}}
//
// The envelope's members:
//
//   - time: the event's "timestamp" (RFC 3339, set by ingestion) as epoch
//     seconds with a millisecond fraction, the "<sec>.<ms>" form the
//     format page documents. Left out when the event has no usable
//     timestamp: HEC then stamps the event with the time it received it.
//   - host: always "logstream". Splunk's host names the machine an event
//     came from; these events come from the SaaS platform, not from a
//     customer machine, and carry their own ip_address/client fields, so a
//     constant lets customers find every logstream event with
//     host=logstream.
//   - source: the stream's Source, default "logstream".
//   - sourcetype: the stream's Sourcetype, default "_json", Splunk's
//     pretrained source type for JSON events (search-time field extraction
//     without configuration).
//   - index: the stream's Index, only when set; otherwise the token's
//     default index. An index outside the token's allowed list is refused
//     with code 7 "Incorrect index".
//   - event: the event object itself, as ingestion stored it (a JSON
//     object, not a string), so Splunk indexes its fields.
//
// # Answers
//
// HEC answers JSON {"text":"Success","code":0} on success, and an error code
// in the same shape otherwise (Splunk, "Troubleshoot HTTP Event Collector" →
// possible error codes; the same table is in Splunk's own Java client,
// splunk/cloudfwd ServerErrors). See classify for how each code is treated.
// A 200 means HEC received the events; with indexer acknowledgement on the
// token it does not yet mean they were indexed, and logstream does not poll
// /services/collector/ack: customers should leave acknowledgement off for
// logstream's token.
package splunk
