package deliver

import (
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/logstream/logstream/shared/logtest"
)

// TestNilLogIsDefault: a Core without a Log reports the batch and logs to
// slog.Default(), as every logstream handler does; it used to panic.
func TestNilLogIsDefault(t *testing.T) {
	buf := logtest.Default(t)
	resp, err := (&Core{}).Handle(t.Context(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: "not an envelope"}}})
	if err != nil || len(resp.BatchItemFailures) != 1 || !strings.Contains(buf.String(), "undecodable message") {
		t.Errorf("%+v %v, log %q; want m1 retried and logged to the default log", resp, err, buf.String())
	}
}
