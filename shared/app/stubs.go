package app

import (
	"context"
	"errors"
)

// API builds the management API handler.
func API(ctx context.Context, getenv Getenv) (HTTPHandler, error) { return nil, errors.New("TODO") }

// Ingest builds the ingestion handler.
func Ingest(ctx context.Context, getenv Getenv) (HTTPHandler, error) { return nil, errors.New("TODO") }

// Deliver builds the delivery handler of a destination type.
func Deliver(ctx context.Context, destination string, getenv Getenv) (SQSHandler, error) {
	return nil, errors.New("TODO")
}
