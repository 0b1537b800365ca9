package ingest

import (
	"errors"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/httpapi"
	httpreq "github.com/logstream/logstream/shared/httpapi/request"
	"github.com/logstream/logstream/shared/logevent"
	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/topology"
)

// requestMetrics is what a request did, as handle learns it.
type requestMetrics struct {
	project  string // the project, once the request's key may write to it
	accepted int    // the events this request had accepted (202)
}

// emit writes a request's metric lines: {Function} always, with every
// count (0 included, so an alarm on a rate sees data); {Function, Reason}
// when it was refused; {Function, Project} with the opt-in detail, once
// the request was authorized for its project.
func (s *Service) emit(req events.APIGatewayV2HTTPRequest, err error, m requestMetrics) {
	if s.Metrics == nil {
		return
	}
	refused, reason, serverErrors := 0, "", 0
	if err != nil {
		ae := httpapi.AsError(err)
		if ae.Status >= 500 {
			serverErrors = 1
		} else {
			refused, reason = refusedEvents(err), ae.Code
		}
	}
	counts := func(l *metrics.Line) *metrics.Line {
		return l.Count(topology.MetricIngestRequests, 1).
			Bytes(topology.MetricIngestBytes, int64(httpreq.Size(req))).
			Count(topology.MetricEventsAccepted, m.accepted).
			Count(topology.MetricEventsRefused, refused).
			Count(topology.MetricIngestServerErrors, serverErrors)
	}
	lines := []*metrics.Line{counts(s.Metrics.Line())}
	if refused > 0 {
		lines = append(lines, s.Metrics.Line(metrics.Dim{Name: topology.DimReason, Value: reason}).
			Count(topology.MetricEventsRefused, refused))
	}
	if s.Metrics.Detail.Projects() && m.project != "" {
		// Ingestion's requests are a project's, not a stream's: "stream"
		// adds nothing more here (delivery has each stream's lines).
		lines = append(lines, counts(s.Metrics.Line(metrics.Dim{Name: topology.DimProject, Value: m.project})))
	}
	s.Metrics.Emit(lines...)
}

// refusedEvents is how many events a refused request is known to have
// carried: those up to the event its error names, or 1, for a request
// refused before its events were read (its key, its content type, a body
// that does not parse). A lower bound, so a refusal is never counted as
// none.
func refusedEvents(err error) int {
	var pe *logevent.Error
	if errors.As(err, &pe) && pe.Index >= 0 {
		return pe.Index + 1
	}
	return 1
}
