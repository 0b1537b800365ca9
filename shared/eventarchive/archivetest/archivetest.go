// Package archivetest is an in-memory event archive (eventarchive.Store
// and Reader) for tests: objects in a sorted map, listed a page at a time
// as S3 lists them.
package archivetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/logstream/logstream/shared/eventarchive"
)

// PageSize is how many keys one List returns (S3 returns up to 1,000; a
// small page here exercises the paging of every caller).
const PageSize = 3

// Archive is an in-memory archive. The zero value is empty and ready.
type Archive struct {
	mu      sync.Mutex
	objects map[string][]byte
	// Lists and Gets count the calls, for tests of what a caller reads.
	Lists, Gets int
	// FailPut, if set, is called before each Put; its error fails it.
	FailPut func(key string) error
}

var (
	_ eventarchive.Store  = (*Archive)(nil)
	_ eventarchive.Reader = (*Archive)(nil)
)

// Put stores an object.
func (a *Archive) Put(_ context.Context, key string, body []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.FailPut != nil {
		if err := a.FailPut(key); err != nil {
			return err
		}
	}
	if a.objects == nil {
		a.objects = map[string][]byte{}
	}
	a.objects[key] = slices.Clone(body)
	return nil
}

// List returns up to PageSize keys under prefix after startAfter.
func (a *Archive) List(_ context.Context, prefix, startAfter string) ([]eventarchive.Object, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Lists++
	keys := a.keys(prefix)
	var out []eventarchive.Object
	for _, k := range keys {
		if k <= startAfter {
			continue
		}
		if len(out) == PageSize {
			return out, true, nil
		}
		out = append(out, eventarchive.Object{Key: k, Size: int64(len(a.objects[k]))})
	}
	return out, false, nil
}

// ErrNoSuchKey is Get's error for a key not stored.
var ErrNoSuchKey = errors.New("archivetest: no such key")

// Get returns an object's body.
func (a *Archive) Get(_ context.Context, key string) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Gets++
	b, ok := a.objects[key]
	if !ok {
		return nil, ErrNoSuchKey
	}
	return slices.Clone(b), nil
}

// Keys returns the stored keys under prefix, sorted.
func (a *Archive) Keys(prefix string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.keys(prefix)
}

func (a *Archive) keys(prefix string) []string {
	var keys []string
	for k := range a.objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
