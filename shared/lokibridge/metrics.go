package lokibridge

import (
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	httpreq "github.com/logstream/logstream/shared/httpapi/request"
	"github.com/logstream/logstream/shared/metrics"
	"github.com/logstream/logstream/shared/topology"
)

// pushMetrics is what one push request stored.
type pushMetrics struct {
	kept    bool // its entries are archived (or it had none: 204)
	entries int  // how many
}

// emit writes a push request's lines: {Function} always, every count
// included (0 too), and {Function, Status} when it was refused. A push
// whose implausible entries were refused (400) while the rest were
// archived counts both as a push and as a refusal: the client saw a 400,
// and its other entries are kept.
func (h *Handler) emit(req events.APIGatewayV2HTTPRequest, status int, m pushMetrics) {
	if h.metrics == nil {
		return
	}
	pushes, refusals := 0, 0
	if m.kept {
		pushes = 1
	}
	if status >= http.StatusBadRequest {
		refusals = 1
	}
	lines := []*metrics.Line{h.metrics.Line().
		Count(topology.MetricBridgePushes, pushes).
		Count(topology.MetricBridgeEntries, m.entries).
		Bytes(topology.MetricBridgeBytes, int64(httpreq.Size(req))).
		Count(topology.MetricBridgeRefusals, refusals)}
	if refusals > 0 {
		lines = append(lines, h.metrics.Line(metrics.Dim{Name: topology.DimStatus, Value: statusClass(status)}).
			Count(topology.MetricBridgeRefusals, refusals))
	}
	h.metrics.Emit(lines...)
}

// statusClass is the Status dimension of a refusal: a client error's own
// code ("400", "401", "413" …), which says what the client must change;
// any server error as "5xx", which says only that it should retry.
func statusClass(status int) string {
	if status >= http.StatusInternalServerError {
		return "5xx"
	}
	return strconv.Itoa(status)
}
