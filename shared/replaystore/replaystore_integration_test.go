package replaystore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/logstream/logstream/localstack/standin/table"
	"github.com/logstream/logstream/shared/replay"
	"github.com/logstream/logstream/shared/replaystore"
)

// Slots on the DynamoDB stand-in: however many take at once, each slot has
// one holder; a released slot, or one whose holder is done, is taken again.
func TestSlotsOnTheTable(t *testing.T) {
	cfg, name := table.New(t)
	db := dynamodb.NewFromConfig(cfg)
	s := &replaystore.Slots{Client: db, Table: name}
	busy := func(string, time.Time) bool { return false }
	var wg sync.WaitGroup
	var mu sync.Mutex
	held := map[int]string{}
	refused := 0
	for i := range 10 {
		wg.Go(func() {
			job := fmt.Sprintf("rpl_%02d", i)
			n, err := s.Take(context.Background(), "p", job, 2, busy)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, replay.ErrTooMany):
				refused++
			case err != nil:
				t.Error(err)
			default:
				if other, dup := held[n]; dup {
					t.Errorf("slot %d given to %s and %s", n, other, job)
				}
				held[n] = job
			}
		})
	}
	wg.Wait()
	if len(held) != 2 || refused != 8 {
		t.Fatalf("held %v, %d refused", held, refused)
	}
	if n, err := s.Take(context.Background(), "p", held[0], 2, busy); err != nil || n != 0 {
		t.Fatalf("the holder again: %d, %v", n, err)
	}
	if _, err := s.Take(context.Background(), "other", "rpl_x", 2, busy); err != nil {
		t.Fatalf("another project's slots are its own: %v", err)
	}
	if err := s.Release(context.Background(), "p", 0, "rpl_not_the_holder"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Take(context.Background(), "p", "rpl_new", 2, busy); !errors.Is(err, replay.ErrTooMany) {
		t.Fatalf("a release by another job freed a slot: %v", err)
	}
	if err := s.Release(context.Background(), "p", 0, held[0]); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Take(context.Background(), "p", "rpl_new", 2, busy); err != nil || n != 0 {
		t.Fatalf("after a release: %d, %v", n, err)
	}
	done := func(holder string, _ time.Time) bool { return holder == held[1] }
	if n, err := s.Take(context.Background(), "p", "rpl_next", 2, done); err != nil || n != 1 {
		t.Fatalf("taking over the slot of a job that ended: %d, %v", n, err)
	}
}

// A project's jobs list newest first by creation time, whatever their ids
// (those made from an idempotency key do not sort by time).
func TestJobsListNewestFirst(t *testing.T) {
	cfg, name := table.New(t)
	jobs := replaystore.New(dynamodb.NewFromConfig(cfg), name)
	at := time.Now().UTC().Add(-time.Hour)
	ids := []string{"rpl_001a00000000000000000aaaa", "rpl_ffff0000000000000000000", "rpl_001a00000000000000000bbbb", "rpl_0000000000000000000000"}
	for i, id := range ids {
		if _, err := jobs.Create(context.Background(), replay.Job{ID: id, ProjectID: "p", State: replay.StateQueued, CreatedAt: at.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := jobs.List(context.Background(), "p", 2)
	if err != nil || len(got) != 2 || got[0].ID != ids[3] || got[1].ID != ids[2] {
		t.Fatalf("List = %+v, %v; want the last two created, newest first", got, err)
	}
}
