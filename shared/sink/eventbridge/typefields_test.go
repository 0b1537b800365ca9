package eventbridge

import (
	"testing"

	"github.com/logstream/logstream/shared/logevent"
)

// Ingestion refuses a client's event whose type, under any of these names,
// starts with logstream's reserved prefix; a member read here but not
// checked there would let a client's event pass for logstream's own.
func TestDetailTypeFieldsAreTheOnesIngestionChecks(t *testing.T) {
	if detailTypeFields != logevent.TypeFields {
		t.Fatalf("DetailType is read from %v, ingestion checks %v", detailTypeFields, logevent.TypeFields)
	}
}
