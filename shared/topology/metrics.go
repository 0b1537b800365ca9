package topology

// MetricsNamespace is the CloudWatch namespace of every metric logstream's functions write in
// Embedded Metric Format.
const MetricsNamespace = "Logstream"

// Dimension names.
const (
	DimFunction        = "Function"        // the function's topology ID: "ingest", "deliver-http", "lokibridge" …
	DimDestinationType = "DestinationType" // "http", "datadog", … (deliver functions)
	DimReason          = "Reason"          // refusal / park reason
	DimStatus          = "Status"          // HTTP status class or code (bridge refusals)
	DimProject         = "Project"         // opt-in only
	DimStream          = "Stream"          // opt-in only
)

// Metric names.
const (
	// ingest (dimension set {Function}; refused also {Function, Reason})
	MetricIngestRequests     = "IngestRequests"     // Count, one per request
	MetricIngestBytes        = "IngestBytes"        // Bytes, request body as received
	MetricEventsAccepted     = "EventsAccepted"     // Count
	MetricEventsRefused      = "EventsRefused"      // Count, with Reason
	MetricIngestServerErrors = "IngestServerErrors" // Count of 5xx answers (0 when none, so the alarm sees data)
	// deliver (dimension set {Function, DestinationType}; parked also {Function, DestinationType, Reason})
	MetricEventsDelivered    = "EventsDelivered"    // Count
	MetricEventsRetried      = "EventsRetried"      // Count
	MetricEventsParked       = "EventsParked"       // Count, with Reason
	MetricEventsFiltered     = "EventsFiltered"     // Count
	MetricDestinationLatency = "DestinationLatency" // Milliseconds, per send call
	MetricLagFromTimestamp   = "LagFromTimestamp"   // Milliseconds, per delivered event: delivery time − event "timestamp"
	MetricLagFromEnqueue     = "LagFromEnqueue"     // Milliseconds, per delivered event: delivery time − SQS SentTimestamp
	MetricBatchSize          = "BatchSize"          // Count, events per send call
	// bridge (dimension set {Function}; refusals {Function, Status})
	MetricBridgePushes   = "BridgePushes"   // Count of accepted pushes
	MetricBridgeEntries  = "BridgeEntries"  // Count
	MetricBridgeBytes    = "BridgeBytes"    // Bytes, push body as received
	MetricBridgeRefusals = "BridgeRefusals" // Count, with Status ("400", "401", "413", "429", "5xx" …)
	// archivers (archiver, lokiarchiver; dimension set {Function})
	MetricArchiveObjectsWritten = "ArchiveObjectsWritten" // Count
	MetricArchiveWriteFailures  = "ArchiveWriteFailures"  // Count (0 when none)
)
