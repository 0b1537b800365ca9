package manage

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/httpapi"
)

// QueueDepths reads a queue's approximate message counts, as SQS keeps them
// (GetQueueAttributes): visible, in flight and delayed.
type QueueDepths interface {
	Depth(ctx context.Context, queueURL string) (visible, inFlight, delayed int64, err error)
}

// Queues are the SQS queues of one destination type, by URL.
type Queues struct {
	URL    string
	DLQURL string
}

// QueueDepth is one queue's approximate counts.
type QueueDepth struct {
	Messages int64 `json:"messages"`  // visible: ready to be received
	InFlight int64 `json:"in_flight"` // received and not yet deleted, or waiting for a retry
	Delayed  int64 `json:"delayed"`   // sent with a delay not yet over
}

// TypeQueues is a destination type's delivery queue and DLQ.
type TypeQueues struct {
	DestinationType string     `json:"destination_type"`
	Queue           QueueDepth `json:"queue"`
	DeadLetterQueue QueueDepth `json:"dead_letter_queue"`
}

// QueuesResponse answers RouteQueueDepths.
type QueuesResponse struct {
	Queues []TypeQueues `json:"queues"`
}

// queueDepths reports every destination type's delivery queue and DLQ, in
// destination-type order: what sits in each right now.
func (a *API) queueDepths(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	qs, err := a.depths(ctx)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return httpapi.JSON(http.StatusOK, QueuesResponse{Queues: qs}), nil
}

// depths reads every destination type's queue and DLQ depth, in
// destination-type order.
func (a *API) depths(ctx context.Context) ([]TypeQueues, error) {
	unavailable := func(err error) error {
		// The cause is logged (httpapi.Fail), not answered.
		return fmt.Errorf("%w: %w", httpapi.Errorf(http.StatusServiceUnavailable, "queues_unavailable",
			"the queues' depths could not be read from SQS; try again"), err)
	}
	if a.Depths == nil {
		return nil, unavailable(fmt.Errorf("manage: no QueueDepths"))
	}
	out := []TypeQueues{}
	for _, d := range destination.Types() {
		q, ok := a.Queues[d]
		if !ok || q.URL == "" || q.DLQURL == "" {
			return nil, unavailable(fmt.Errorf("manage: no queue URLs for destination type %s", d))
		}
		t := TypeQueues{DestinationType: d}
		for _, x := range []struct {
			url string
			to  *QueueDepth
		}{{q.URL, &t.Queue}, {q.DLQURL, &t.DeadLetterQueue}} {
			v, f, dl, err := a.Depths.Depth(ctx, x.url)
			if err != nil {
				return nil, unavailable(err)
			}
			*x.to = QueueDepth{Messages: v, InFlight: f, Delayed: dl}
		}
		out = append(out, t)
	}
	return out, nil
}
