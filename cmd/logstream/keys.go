package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/logstream/logstream/shared/apikey"
	"github.com/logstream/logstream/shared/manage"
	"net/http"
	"net/url"
	"strings"
)

// keyView is what the CLI reads of an API key.
type keyView struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Projects  []string `json:"projects"`
	Access    string   `json:"access"`
	Admin     bool     `json:"admin"`
	RevokedAt *string  `json:"revoked_at"`
}

var keyHeader = []string{"ID", "NAME", "ACCESS", "PROJECTS", "REVOKED"}

func (k keyView) row() []string {
	access := k.Access
	if k.Admin {
		access = "admin"
	}
	return []string{k.ID, k.Name, access, strings.Join(k.Projects, ","), whenPtr(k.RevokedAt)}
}

func keysCreate(fs *flag.FlagSet) action {
	name := fs.String("name", "", "the key's `NAME`, to recognise it in a list (required)")
	var projects listFlag
	fs.Var(&projects, "project", "a project `ID` the key may use, or * for all; repeat for more (required)")
	access := fs.String("access", "", "`ACCESS`: read or write (required; write includes read)")
	return func(ctx context.Context, s *session, _ []string) error {
		switch {
		case strings.TrimSpace(*name) == "":
			return usagef("--name is required")
		case len(projects) == 0:
			return usagef("--project is required: the projects the key may use (* for all)")
		case *access != "read" && *access != "write":
			return usagef("--access must be read or write")
		}
		b, err := json.Marshal(manage.CreateKeyRequest{Name: *name, Projects: projects, Access: apikey.Access(*access)})
		if err != nil {
			return err
		}
		resp, err := s.api.do(ctx, request{method: http.MethodPost, path: "/v1/keys", header: jsonHeader(), body: b})
		if err != nil {
			return err
		}
		var created struct {
			Key    keyView `json:"key"`
			Secret string  `json:"secret"`
		}
		if err := json.Unmarshal(resp.body, &created); err != nil {
			return fmt.Errorf("read the key the API answered: %w", err)
		}
		if s.json {
			err = s.printRaw(resp.body)
		} else {
			if err = table(s.stdout, keyHeader, created.Key.row()); err == nil {
				_, err = fmt.Fprintf(s.stdout, "\nsecret: %s\n", created.Secret)
			}
		}
		if err != nil {
			return err
		}
		// On stderr, so it never mixes with output a script reads.
		fmt.Fprintln(s.stderr, "note: the secret is shown once, now: store it in a secret manager; logstream keeps only its hash and cannot show it again")
		return nil
	}
}

func keysList(*flag.FlagSet) action {
	return func(ctx context.Context, s *session, _ []string) error {
		resp, err := s.api.do(ctx, request{method: http.MethodGet, path: "/v1/keys"})
		if err != nil {
			return err
		}
		if s.json {
			return s.printRaw(resp.body)
		}
		var list struct {
			Data []keyView `json:"data"`
		}
		if err := json.Unmarshal(resp.body, &list); err != nil {
			return fmt.Errorf("read the keys the API answered: %w", err)
		}
		rows := make([][]string, 0, len(list.Data))
		for _, k := range list.Data {
			rows = append(rows, k.row())
		}
		return table(s.stdout, keyHeader, rows...)
	}
}

func keysRevoke(*flag.FlagSet) action {
	return func(ctx context.Context, s *session, args []string) error {
		resp, err := s.api.do(ctx, request{method: http.MethodDelete, path: "/v1/keys/" + url.PathEscape(args[0])})
		if err != nil {
			return err
		}
		if s.json {
			return s.printRaw(resp.body)
		}
		var k keyView
		if err := json.Unmarshal(resp.body, &k); err != nil {
			return fmt.Errorf("read the key the API answered: %w", err)
		}
		return table(s.stdout, keyHeader, k.row())
	}
}
