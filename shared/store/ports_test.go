package store_test

import (
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/ingest"
	"github.com/logstream/logstream/shared/store"
)

// The ports this adapter implements, declared by their consumers. Asserted
// here rather than in the package so that the functions which do not
// deliver (the API, ingestion) do not link the delivery core.
var (
	_ deliver.Streams   = (*store.Streams)(nil)
	_ deliver.Health    = (*store.Streams)(nil)
	_ deliver.Suspender = (*store.Streams)(nil)
	_ ingest.Streams    = (*store.Streams)(nil)
)

var _ deliver.Circuits = (*store.Circuits)(nil)
