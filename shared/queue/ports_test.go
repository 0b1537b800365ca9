package queue_test

import (
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/ingest"
	"github.com/logstream/logstream/shared/manage"
	"github.com/logstream/logstream/shared/queue"
)

// The ports this adapter implements, declared by their consumers. Asserted
// here rather than in the package so that a function which only publishes
// (ingestion) does not link the delivery core.
var (
	_ deliver.Queue       = (*queue.Redelivery)(nil)
	_ deliver.Requeuer    = (*queue.Redelivery)(nil)
	_ ingest.Publisher    = (*queue.Publisher)(nil)
	_ ingest.PublishError = (*queue.PublishError)(nil)
	_ manage.QueueDepths  = (*queue.Depths)(nil)
)
