package runner

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"

	"github.com/google/uuid"
)

// EventBridge is the one AWS service the functions call that no stand-in
// serves: the operator's notices (a stream suspended or resumed) go on the
// account's default bus, and eventbridge streams put their events on a
// customer's bus. Both reach it through the SDK's endpoint,
// AWS_ENDPOINT_URL_EVENTBRIDGE. A local stack must never reach AWS, so a
// stack started without that variable serves a PutEvents sink itself and
// points the variable at it: every entry put is logged (make dev shows the
// operator's notices as "eventbridge put" lines) and answered with an
// EventId, as EventBridge answers. A test that checks what was put sets the
// variable to its own stand-in first.
//
// The sink is one per process, never closed: the variable is process-wide
// and outlives any one stack.
var eventBus struct {
	once sync.Once
	err  error
}

// EventBusEnv is the variable the sink is published in.
const EventBusEnv = "AWS_ENDPOINT_URL_EVENTBRIDGE"

func ensureEventBus(log *slog.Logger) error {
	if os.Getenv(EventBusEnv) != "" {
		return nil
	}
	eventBus.once.Do(func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			eventBus.err = fmt.Errorf("listen for the local EventBridge sink: %w", err)
			return
		}
		go http.Serve(ln, eventBusHandler(log.With("component", "eventbridge")))
		eventBus.err = os.Setenv(EventBusEnv, "http://"+ln.Addr().String())
	})
	if eventBus.err != nil {
		return eventBus.err
	}
	if os.Getenv(EventBusEnv) == "" {
		// Set, then unset by someone (a test's t.Setenv undone): say so
		// rather than let the SDK fall back to AWS.
		return fmt.Errorf("%s was unset after the local EventBridge sink started", EventBusEnv)
	}
	return nil
}

// putEntry is the part of a PutEvents entry the sink logs.
type putEntry struct {
	EventBusName string
	Source       string
	DetailType   string
	Detail       string
	Resources    []string
}

// eventBusHandler answers EventBridge's JSON protocol (awsJson1_1): PutEvents
// with an EventId per entry; any other operation with the error EventBridge
// gives for one it does not know.
func eventBusHandler(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
			awsError(w, "UnknownOperationException", "the local EventBridge sink serves PutEvents only, not "+r.Header.Get("X-Amz-Target"))
			return
		}
		var req struct{ Entries []putEntry }
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
			awsError(w, "ValidationException", err.Error())
			return
		}
		type result struct{ EventId string }
		out := struct {
			FailedEntryCount int
			Entries          []result
		}{Entries: make([]result, 0, len(req.Entries))}
		for _, e := range req.Entries {
			bus := e.EventBusName
			if bus == "" {
				bus = "default"
			}
			log.Info("eventbridge put", "bus", bus, "source", e.Source, "detail_type", e.DetailType, "detail", e.Detail)
			out.Entries = append(out.Entries, result{EventId: uuid.NewString()})
		}
		json.NewEncoder(w).Encode(out)
	})
}

// awsError answers an awsJson1_1 error.
func awsError(w http.ResponseWriter, typ, msg string) {
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}
