package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/logstream/logstream/localstack/runner"
	"github.com/logstream/logstream/localstack/standin"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/stream"
)

func newStore(t *testing.T) *store.Streams {
	t.Helper()
	cfg := standin.AWSConfig(t)
	spec := standin.Spec(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := runner.Provision(ctx, cfg, spec); err != nil {
		t.Fatalf("provision: %v", err)
	}
	return &store.Streams{Client: dynamodb.NewFromConfig(cfg), Table: spec.Table.Name}
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
	if err := s.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, a); err == nil {
		t.Fatal("Create overwrote an existing stream")
	}
	got, err := s.Get(ctx, "proj_a", a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.Name != a.Name || !got.CreatedAt.Equal(a.CreatedAt) || string(got.DestinationConfig) != string(a.DestinationConfig) || got.Status != a.Status {
		t.Fatalf("round trip: got %+v, want %+v", got, a)
	}
	if _, err := s.Get(ctx, "proj_b", a.ID); !errors.Is(err, stream.ErrNotFound) {
		t.Fatalf("another project's Get: %v", err)
	}
	if err := s.Delete(ctx, "proj_b", a.ID); !errors.Is(err, stream.ErrNotFound) {
		t.Fatalf("another project's Delete: %v", err)
	}
	if err := s.Delete(ctx, "proj_a", a.ID); err != nil {
		t.Fatal(err)
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
		if err := s.Create(ctx, st); err != nil {
			t.Fatal(err)
		}
		want[st.ID] = st.Status == stream.StatusActive
	}
	if err := s.Create(ctx, newStream("proj_other", stream.StatusActive)); err != nil {
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
