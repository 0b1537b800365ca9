package lokibridge_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	samples "github.com/logstream/logstream/events"
	"github.com/logstream/logstream/shared/lokibridge"
)

type sampleStore struct{ keys []string }

func (s *sampleStore) Put(_ context.Context, key string, _ []byte) error {
	s.keys = append(s.keys, key)
	return nil
}
func (s *sampleStore) Check(context.Context) error { return nil }

// The API Gateway samples in events/ are answered by the real handler.
func TestAPIGatewaySamples(t *testing.T) {
	creds, err := lokibridge.NewCredentials(lokibridge.Credential{Username: "logstream", Password: "<the bridge password>"})
	if err != nil {
		t.Fatal(err)
	}
	store := &sampleStore{}
	// The clock reads the push sample's day, 2026-11-23.
	h, err := lokibridge.New(lokibridge.Config{Store: store, Credentials: creds,
		Now: func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file   string
		status int
	}{{"apigw/loki-push.json", 204}, {"apigw/loki-ready.json", 200}, {"apigw/loki-health.json", 200}} {
		t.Run(c.file, func(t *testing.T) {
			b, err := samples.FS.ReadFile(c.file)
			if err != nil {
				t.Fatal(err)
			}
			var req events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(b, &req); err != nil {
				t.Fatal(err)
			}
			resp, _ := h.Handle(context.Background(), req)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, resp.Body)
			}
		})
	}
	if len(store.keys) != 1 || !strings.HasPrefix(store.keys[0], "tenant=acme/dt=2026-11-23/hour=09/") {
		t.Fatalf("stored %v", store.keys)
	}
}
