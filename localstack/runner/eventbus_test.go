package runner

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// The sink answers the SDK's own PutEvents as EventBridge does, an EventId
// per entry, and logs what was put; other operations are refused.
func TestEventBusSink(t *testing.T) {
	var logs bytes.Buffer
	srv := httptest.NewServer(eventBusHandler(slog.New(slog.NewTextHandler(&logs, nil))))
	defer srv.Close()
	c := eventbridge.New(eventbridge.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	out, err := c.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("logstream"), DetailType: aws.String("Stream Suspended"), Detail: aws.String(`{"stream_id":"str_1"}`)},
		{Source: aws.String("logstream"), DetailType: aws.String("Stream Resumed"), Detail: aws.String(`{"stream_id":"str_1"}`), EventBusName: aws.String("ops")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 0 || len(out.Entries) != 2 || aws.ToString(out.Entries[0].EventId) == "" {
		t.Fatalf("answer %+v", out)
	}
	for _, want := range []string{`bus=default source=logstream detail_type="Stream Suspended"`, `bus=ops source=logstream detail_type="Stream Resumed"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
	if _, err := c.ListRules(context.Background(), &eventbridge.ListRulesInput{}); err == nil || !strings.Contains(err.Error(), "UnknownOperation") {
		t.Fatalf("ListRules: %v", err)
	}
}
