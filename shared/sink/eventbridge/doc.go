// Package eventbridge delivers events to an "eventbridge" stream: one
// PutEvents call per batch, each event one entry on the customer's event bus,
// with logstream's own IAM role (the stream holds no secret).
//
// Wire format (Amazon EventBridge API Reference, PutEvents and
// PutEventsRequestEntry; aws-sdk-go-v2 builds and signs it): an awsJson1_1
// POST / to the region's events endpoint with X-Amz-Target
// AWSEvents.PutEvents, Content-Type application/x-amz-json-1.1, SigV4 with
// the credential scope <region>/events/aws4_request, and the body
//
//	{"Entries":[{"Detail":"<event JSON>","DetailType":"…","EventBusName":"<bus ARN>","Source":"…","Time":<epoch seconds>}, …]}
//
// where
//
//   - EventBusName is the bus's ARN, which also reaches a bus in another
//     account whose resource policy allows logstream's role ("Specifying the
//     event bus ARN is preferred").
//   - Source is the stream's source (default "logstream"; "aws." is reserved).
//   - DetailType is the stream's detail_type or else the event's own type
//     (its "eventType", "type", "event_type" or "action" member), or else
//     DefaultDetailType.
//   - Detail is the event itself, unchanged: "A valid JSON object. There is no
//     other schema imposed."
//   - Time is the event's "timestamp", so rules and archives see when it
//     happened rather than when it was delivered.
//
// Limits: at most 10 entries per call, and "the total entry size must be
// less than 256KB", sizes counted as in "Calculating PutEvents event entry
// size" (EntrySize). Answers: 200 with FailedEntryCount and one result per
// entry, in request order ("The response Entries array always includes the
// same number of entries as the request array"): an EventId, or an ErrorCode
// and ErrorMessage (PutEventsResultEntry lists InternalFailure and
// ThrottlingException as retryable, the rest not); or a whole-call error as
// {"__type":"<code>","message":"…"} with a 4xx/5xx status.
//
// Sources:
//   - https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
//   - https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html
//   - https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html
//   - https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
//   - https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html (failure handling)
//   - https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html
//     (source and detail-type identify the producer and the type of event)
package eventbridge
