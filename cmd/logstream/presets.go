package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
)

// presetView is what the CLI reads of a filter preset.
type presetView struct {
	Name        string          `json:"name"`
	Vendor      string          `json:"vendor"`
	Description string          `json:"description"`
	Filters     json.RawMessage `json:"filters"`
}

var presetHeader = []string{"NAME", "VENDOR", "DESCRIPTION"}

func presetsList(*flag.FlagSet) action {
	return func(ctx context.Context, s *session, _ []string) error {
		resp, err := s.api.do(ctx, request{method: http.MethodGet, path: "/v1/filter-presets"})
		if err != nil {
			return err
		}
		if s.json {
			return s.printRaw(resp.body)
		}
		var list struct {
			Data []presetView `json:"data"`
		}
		if err := json.Unmarshal(resp.body, &list); err != nil {
			return fmt.Errorf("read the presets the API answered: %w", err)
		}
		rows := make([][]string, 0, len(list.Data))
		for _, p := range list.Data {
			rows = append(rows, []string{p.Name, p.Vendor, p.Description})
		}
		return table(s.stdout, presetHeader, rows...)
	}
}

// presetsShow prints the preset's filters alone, indented: the form
// --filters reads, so its output can be saved and edited as it is.
func presetsShow(*flag.FlagSet) action {
	return func(ctx context.Context, s *session, args []string) error {
		p, raw, err := s.preset(ctx, args[0])
		if err != nil {
			return err
		}
		if s.json {
			return s.printRaw(raw)
		}
		var out bytes.Buffer
		if err := json.Indent(&out, p.Filters, "", "  "); err != nil {
			return fmt.Errorf("read the preset the API answered: %w", err)
		}
		out.WriteByte('\n')
		_, err = s.stdout.Write(out.Bytes())
		return err
	}
}

// preset fetches one preset.
func (s *session) preset(ctx context.Context, name string) (presetView, []byte, error) {
	resp, err := s.api.do(ctx, request{method: http.MethodGet, path: "/v1/filter-presets/" + url.PathEscape(name)})
	if err != nil {
		return presetView{}, nil, err
	}
	var p presetView
	if err := json.Unmarshal(resp.body, &p); err != nil || len(p.Filters) == 0 {
		return presetView{}, nil, fmt.Errorf("read the preset the API answered: %v", err)
	}
	return p, resp.body, nil
}
