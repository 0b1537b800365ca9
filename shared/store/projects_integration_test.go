package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/logstream/logstream/shared/stream"
)

// Issue 17: a key of every project lists those that ever had a stream, page
// by page, each once however many streams it has, still after its last
// stream is deleted.
func TestProjectsListed(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var last stream.Stream
	for _, p := range []string{"proj_c", "proj_a", "proj_b", "proj_a"} {
		last = newStream(p, stream.StatusActive)
		if err := s.Create(ctx, last, limit); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, last.ProjectID, last.ID); err != nil {
		t.Fatal(err)
	}
	var got []string
	cursor, pages := "", 0
	for {
		ids, next, err := s.Projects(ctx, 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		got, pages = append(got, ids...), pages+1
		if next == "" {
			break
		}
		cursor = next
	}
	if !slices.Equal(got, []string{"proj_a", "proj_b", "proj_c"}) || pages != 2 {
		t.Errorf("projects %v in %d pages, want proj_a, proj_b, proj_c in 2", got, pages)
	}
	if _, _, err := s.Projects(ctx, 2, "not base64!"); err == nil {
		t.Error("a bad cursor was taken")
	}
}
