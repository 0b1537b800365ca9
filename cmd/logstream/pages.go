package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// listPages reads a list route of the API ({"data":[…],"next_cursor"}):
// its first page, with a note on stderr when there are more, or with all
// every page, following next_cursor and refusing a cursor answered twice
// rather than looping. For --output json of a single page it returns the
// API's body as it came (raw), and no items.
func listPages[T any](ctx context.Context, s *session, path string, q url.Values, all bool, what, more string) (items []T, raw []byte, err error) {
	items = []T{}
	seen := map[string]bool{}
	for {
		resp, err := s.api.do(ctx, request{method: http.MethodGet, path: path, query: q})
		if err != nil {
			return nil, nil, err
		}
		if !all && s.json {
			return nil, resp.body, nil
		}
		var p struct {
			Data       []T    `json:"data"`
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(resp.body, &p); err != nil {
			return nil, nil, fmt.Errorf("read the page of %s the API answered: %w", what, err)
		}
		items = append(items, p.Data...)
		if p.NextCursor == "" {
			return items, nil, nil
		}
		if !all {
			fmt.Fprintln(s.stderr, "note: "+more)
			return items, nil, nil
		}
		if seen[p.NextCursor] {
			return nil, nil, errors.New("the API answered the same next_cursor twice; stopping rather than looping")
		}
		seen[p.NextCursor] = true
		q.Set("cursor", p.NextCursor)
	}
}
