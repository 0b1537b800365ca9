package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"strconv"

	"github.com/logstream/logstream/shared/manage"
)

var queueHeader = []string{"TYPE", "QUEUED", "IN FLIGHT", "DELAYED", "DLQ", "DLQ IN FLIGHT", "DLQ DELAYED"}

func adminQueues(*flag.FlagSet) action {
	return func(ctx context.Context, s *session, _ []string) error {
		resp, err := s.api.do(ctx, request{method: http.MethodGet, path: "/v1/admin/queues"})
		if err != nil {
			return err
		}
		if s.json {
			return s.printRaw(resp.body)
		}
		var qs manage.QueuesResponse
		if err := json.Unmarshal(resp.body, &qs); err != nil {
			return fmt.Errorf("read the queues the API answered: %w", err)
		}
		n := func(v int64) string { return strconv.FormatInt(v, 10) }
		rows := make([][]string, 0, len(qs.Queues))
		for _, q := range qs.Queues {
			rows = append(rows, []string{q.DestinationType, n(q.Queue.Messages), n(q.Queue.InFlight), n(q.Queue.Delayed),
				n(q.DeadLetterQueue.Messages), n(q.DeadLetterQueue.InFlight), n(q.DeadLetterQueue.Delayed)})
		}
		return table(s.stdout, queueHeader, rows...)
	}
}
