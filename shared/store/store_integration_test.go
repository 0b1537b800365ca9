package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/logstream/logstream/localstack/standin/table"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/secret"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/stream"
)

func newStore(t *testing.T) *store.Streams {
	t.Helper()
	cfg, tableName := table.New(t)
	sealer, err := secret.NewLocal(secret.GenerateLocalKey())
	if err != nil {
		t.Fatal(err)
	}
	return &store.Streams{Client: dynamodb.NewFromConfig(cfg), Table: tableName, Sealer: sealer}
}

// Secrets never reach DynamoDB in clear, open only for their own stream, and
// are left out by a store without a sealer (ingestion's).
func TestSecretsAtRest(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	const token = "Bearer very-secret-token-0123456789"
	st := newStream("proj_s", stream.StatusActive)
	st.DestinationConfig = json.RawMessage(`{"endpoint":"https://h.example.com","authorization":"` + token + `","content_format":"JSONLINES"}`)
	if err := s.Create(ctx, st, limit); err != nil {
		t.Fatal(err)
	}
	raw, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "PROJECT#proj_s"}, "sk": &types.AttributeValueMemberS{Value: "STREAM#" + st.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	dump := fmt.Sprintf("%#v", raw.Item)
	if strings.Contains(dump, "very-secret") || raw.Item["secrets"] == nil {
		t.Fatalf("stored item holds the secret in clear or no sealed secrets: %s", dump)
	}
	got, err := s.Get(ctx, "proj_s", st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := got.Destination(); c.(*destination.HTTPConfig).Authorization != token {
		t.Fatalf("secret not restored: %s", got.DestinationConfig)
	}
	routing := &store.Streams{Client: s.Client, Table: s.Table}
	if active, err := routing.Active(ctx, "proj_s"); err != nil || len(active) != 1 || strings.Contains(string(active[0].DestinationConfig), "very-secret") {
		t.Fatalf("a store without a sealer read %v, %v", active, err)
	}
	// The sealed blob of one stream, copied onto another, does not open.
	other := newStream("proj_s", stream.StatusActive)
	if err := s.Create(ctx, other, limit); err != nil {
		t.Fatal(err)
	}
	_, err = s.Client.(*dynamodb.Client).UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.Table), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "PROJECT#proj_s"}, "sk": &types.AttributeValueMemberS{Value: "STREAM#" + other.ID}},
		UpdateExpression: aws.String("SET secrets = :s"), ExpressionAttributeValues: map[string]types.AttributeValue{":s": raw.Item["secrets"]}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "proj_s", other.ID); !errors.Is(err, secret.ErrCannotOpen) {
		t.Fatalf("a copied secret opened for another stream: %v", err)
	}
}

func newStream(project string, status stream.Status) stream.Stream {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return stream.Stream{ID: stream.NewID(), ProjectID: project, Name: "s", DestinationType: "http",
		DestinationConfig: json.RawMessage(`{"endpoint":"https://h.example.com"}`), Status: status, CreatedAt: now, UpdatedAt: now}
}

func TestStreamsCRUD(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := newStream("proj_a", stream.StatusActive)
	if err := s.Create(ctx, a, limit); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, a, limit); err == nil {
		t.Fatal("Create overwrote an existing stream")
	}
	got, err := s.Get(ctx, "proj_a", a.ID)
	if err != nil {
		t.Fatal(err)
	}
	gotCfg, _ := got.Destination()
	wantCfg, _ := a.Destination()
	if got.ID != a.ID || got.Name != a.Name || !got.CreatedAt.Equal(a.CreatedAt) || !reflect.DeepEqual(gotCfg, wantCfg) || got.Status != a.Status {
		t.Fatalf("round trip: got %+v, want %+v", got, a)
	}
	if _, err := s.Get(ctx, "proj_b", a.ID); !errors.Is(err, stream.ErrNotFound) {
		t.Fatalf("another project's Get: %v", err)
	}
	if err := s.Delete(ctx, "proj_b", a.ID); !errors.Is(err, stream.ErrNotFound) {
		t.Fatalf("another project's Delete: %v", err)
	}
	if _, err := s.Record(ctx, "proj_a", a.ID, stream.Tally{Delivered: 7}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if h, err := s.Health(ctx, "proj_a", a.ID); err != nil || h.DeliveredEvents != 7 {
		t.Fatalf("health before delete: %+v, %v", h, err)
	}
	if err := s.Delete(ctx, "proj_a", a.ID); err != nil {
		t.Fatal(err)
	}
	if h, err := s.Health(ctx, "proj_a", a.ID); err != nil || h.DeliveredEvents != 0 {
		t.Fatalf("health after delete: %+v, %v", h, err)
	}
	if _, err := s.Get(ctx, "proj_a", a.ID); !errors.Is(err, stream.ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if err := s.Delete(ctx, "proj_a", a.ID); !errors.Is(err, stream.ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
	}
}

func TestStreamsListAndActive(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	want := map[string]bool{}
	for i := range 7 {
		st := newStream("proj_l", stream.StatusActive)
		if i%3 == 0 {
			st.Status = stream.StatusPaused
		}
		if err := s.Create(ctx, st, limit); err != nil {
			t.Fatal(err)
		}
		want[st.ID] = st.Status == stream.StatusActive
	}
	if err := s.Create(ctx, newStream("proj_other", stream.StatusActive), limit); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		page, next, err := s.List(ctx, "proj_l", 3, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, st := range page {
			if _, ok := want[st.ID]; !ok || seen[st.ID] {
				t.Fatalf("page %d: unexpected or repeated stream %s", pages, st.ID)
			}
			seen[st.ID] = true
		}
		if next == "" {
			break
		}
		cursor = next
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("listed %d of %d streams", len(seen), len(want))
	}
	active, err := s.Active(ctx, "proj_l")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, st := range active {
		if !want[st.ID] {
			t.Fatalf("Active returned paused or foreign stream %s", st.ID)
		}
		n++
	}
	if n != 4 {
		t.Fatalf("Active returned %d streams, want 4", n)
	}
	if _, _, err := s.List(ctx, "proj_l", 3, "not-a-cursor"); err == nil {
		t.Fatal("a forged cursor was accepted")
	}
}

func TestStreamsUpdateIsGuardedByVersion(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	st := newStream("proj_u", stream.StatusActive)
	st.Version = 1
	if err := s.Create(ctx, st, limit); err != nil {
		t.Fatal(err)
	}
	next := st
	next.Name, next.Version = "second", 2
	next.Filters = &stream.Filters{Include: []stream.Rule{{Field: "eventType", In: []string{"a", "b"}}}}
	next.PII = &stream.PII{Fields: []stream.PIIField{{Field: "client.ip", Action: stream.PIITruncateIP}}}
	never := 0
	next.Suspension = &stream.Suspension{After: "24h", AfterPermanentFailures: &never}
	if err := s.Update(ctx, next, 1); err != nil {
		t.Fatal(err)
	}
	stale := st
	stale.Name, stale.Version = "stale", 2
	if err := s.Update(ctx, stale, 1); !errors.Is(err, stream.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	got, err := s.Get(ctx, "proj_u", st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "second" || got.Version != 2 || got.Filters == nil || got.Filters.Include[0].In[1] != "b" ||
		got.PII == nil || got.PII.Fields[0].Action != stream.PIITruncateIP ||
		got.Suspension == nil || got.Suspension.After != "24h" || got.Suspension.AfterPermanentFailures == nil || *got.Suspension.AfterPermanentFailures != 0 {
		t.Fatalf("round trip: %+v", got)
	}
	gone := newStream("proj_u", stream.StatusActive)
	if err := s.Update(ctx, gone, 0); !errors.Is(err, stream.ErrNotFound) {
		t.Fatalf("update of a missing stream: %v", err)
	}
}

// Delivery suspends an active stream whose destination is gone; the reason
// is kept until its owner changes the status, and a paused or deleted stream
// is left alone.
func TestSuspend(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	st := newStream("proj_s", stream.StatusActive)
	st.Version = 1
	paused := newStream("proj_s", stream.StatusPaused)
	paused.Version = 1
	for _, x := range []stream.Stream{st, paused} {
		if err := s.Create(ctx, x, limit); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 { // a second suspension changes nothing, and says so
		did, err := s.Suspend(ctx, "proj_s", st.ID, "receiver answered 410 Gone")
		if err != nil {
			t.Fatal(err)
		}
		if did != (i == 0) {
			t.Fatalf("suspension %d reports suspended=%v", i+1, did)
		}
	}
	got, err := s.Get(ctx, "proj_s", st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != stream.StatusSuspended || got.StatusReason != "receiver answered 410 Gone" || got.Version != 2 {
		t.Fatalf("after Suspend: status %q reason %q version %d", got.Status, got.StatusReason, got.Version)
	}
	if active, _ := s.Active(ctx, "proj_s"); len(active) != 0 {
		t.Fatalf("a suspended stream is still routed: %v", active)
	}
	resumed := stream.SetStatus(got, stream.StatusActive, time.Now())
	if err := s.Update(ctx, resumed, got.Version); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.Get(ctx, "proj_s", st.ID); got.Status != stream.StatusActive || got.StatusReason != "" {
		t.Fatalf("after resuming: status %q reason %q", got.Status, got.StatusReason)
	}
	if did, err := s.Suspend(ctx, "proj_s", paused.ID, "x"); err != nil || did {
		t.Fatalf("suspending a paused stream: %v, %v", did, err)
	}
	if got, _ = s.Get(ctx, "proj_s", paused.ID); got.Status != stream.StatusPaused || got.Version != 1 {
		t.Fatalf("a paused stream was changed: %+v", got)
	}
	if did, err := s.Suspend(ctx, "proj_s", "str_missing", "x"); err != nil || did {
		t.Fatalf("suspending a deleted stream: %v, %v", did, err)
	}
}
