package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/logstream/logstream/localstack/standin/table"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/store"
	"github.com/logstream/logstream/shared/stream"
)

func newKeys(t *testing.T) (*store.Keys, *store.Streams) {
	t.Helper()
	cfg, tableName := table.New(t)
	client := dynamodb.NewFromConfig(cfg)
	return &store.Keys{Client: client, Table: tableName}, &store.Streams{Client: client, Table: tableName}
}

func generateKey(t *testing.T, name string, projects []string, access apikey.Access, now time.Time) (string, apikey.Key) {
	t.Helper()
	secret, k, err := apikey.Generate(name, projects, access, now)
	if err != nil {
		t.Fatal(err)
	}
	return secret, k
}

func sameKey(a, b apikey.Key) bool {
	revokedEqual := (a.RevokedAt == nil) == (b.RevokedAt == nil) && (a.RevokedAt == nil || a.RevokedAt.Equal(*b.RevokedAt))
	return a.ID == b.ID && a.Name == b.Name && slices.Equal(a.Projects, b.Projects) && a.Access == b.Access &&
		a.Admin == b.Admin && a.CreatedAt.Equal(b.CreatedAt) && revokedEqual && a.LastFour == b.LastFour && a.Hash == b.Hash
}

func TestKeysRoundTrip(t *testing.T) {
	keys, streams := newKeys(t)
	ctx := context.Background()
	t0 := time.Now()

	_, reader := generateKey(t, "reader", []string{"proj_a", "proj_b"}, apikey.AccessRead, t0)
	_, admin := generateKey(t, "second admin", []string{"*"}, apikey.AccessWrite, t0.Add(time.Second))
	admin.Admin = true
	_, victim := generateKey(t, "to revoke", []string{"proj_a"}, apikey.AccessWrite, t0.Add(2*time.Second))
	for _, k := range []apikey.Key{reader, admin, victim} {
		if err := keys.Create(ctx, k); err != nil {
			t.Fatalf("Create %s: %v", k.Name, err)
		}
	}
	if err := keys.Create(ctx, reader); err == nil {
		t.Fatal("Create overwrote an existing key")
	}
	// A stream, and the item that keeps its project's stream limit, in the
	// same table must not show up among the keys.
	now := time.Now().UTC()
	if err := streams.Create(ctx, stream.Stream{ID: stream.NewID(), ProjectID: "proj_a", Name: "s", DestinationType: "http",
		DestinationConfig: json.RawMessage(`{"endpoint":"https://h.example.com"}`), Status: stream.StatusActive,
		CreatedAt: now, UpdatedAt: now}, 1); err != nil {
		t.Fatal(err)
	}

	for _, want := range []apikey.Key{reader, admin} {
		got, err := keys.Get(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !sameKey(got, want) {
			t.Fatalf("round trip: got %+v, want %+v", got, want)
		}
	}
	for _, id := range []string{"key_00000000000000000000", "not-an-id", ""} {
		if _, err := keys.Get(ctx, id); !errors.Is(err, apikey.ErrNotFound) {
			t.Fatalf("Get(%q): %v, want ErrNotFound", id, err)
		}
	}

	revokeAt := t0.Add(time.Hour)
	revoked, err := keys.Revoke(ctx, victim.ID, revokeAt)
	if err != nil {
		t.Fatal(err)
	}
	if revoked.RevokedAt == nil || !revoked.RevokedAt.Equal(revokeAt) || revoked.Active() || revoked.Hash != victim.Hash {
		t.Fatalf("Revoke returned %+v", revoked)
	}
	again, err := keys.Revoke(ctx, victim.ID, revokeAt.Add(time.Hour))
	if err != nil || again.RevokedAt == nil || !again.RevokedAt.Equal(revokeAt) {
		t.Fatalf("second Revoke = %+v, %v; want success keeping the first time", again, err)
	}
	for _, id := range []string{"key_00000000000000000000", "bogus"} {
		if _, err := keys.Revoke(ctx, id, revokeAt); !errors.Is(err, apikey.ErrNotFound) {
			t.Fatalf("Revoke(%q): %v, want ErrNotFound", id, err)
		}
	}
	if _, err := keys.Get(ctx, "key_00000000000000000000"); !errors.Is(err, apikey.ErrNotFound) {
		t.Fatalf("Revoke of an unknown id created an item: %v", err)
	}

	list, err := keys.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	victim.RevokedAt = &revokeAt
	want := []apikey.Key{reader, admin, victim} // oldest first
	if len(list) != len(want) {
		t.Fatalf("List returned %d items, want %d: %+v", len(list), len(want), list)
	}
	for i := range want {
		if !sameKey(list[i], want[i]) {
			t.Fatalf("List[%d] = %+v, want %+v", i, list[i], want[i])
		}
	}
}

func TestAuthenticateAgainstStore(t *testing.T) {
	keys, _ := newKeys(t)
	ctx := context.Background()
	secret, k := generateKey(t, "ingest", []string{"proj_a"}, apikey.AccessWrite, time.Now())
	a := &apikey.Authenticator{Keys: keys} // no cache: revocation applies at once
	if _, err := a.Authenticate(ctx, "Bearer "+secret); !errors.Is(err, apikey.ErrUnauthenticated) {
		t.Fatalf("before Create: %v", err)
	}
	if err := keys.Create(ctx, k); err != nil {
		t.Fatal(err)
	}
	got, err := a.Authenticate(ctx, "Bearer "+secret)
	if err != nil || got.ID != k.ID || !got.Allows("proj_a", apikey.AccessWrite) || got.Allows("proj_b", apikey.AccessRead) {
		t.Fatalf("after Create: %+v, %v", got, err)
	}
	if _, err := keys.Revoke(ctx, k.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, "Bearer "+secret); !errors.Is(err, apikey.ErrUnauthenticated) {
		t.Fatalf("after Revoke: %v", err)
	}
}
