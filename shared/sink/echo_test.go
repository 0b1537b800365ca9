package sink_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/netguard"
	"github.com/logstream/logstream/shared/sink"
	"github.com/logstream/logstream/shared/sink/datadog"
	"github.com/logstream/logstream/shared/sink/loki"
	"github.com/logstream/logstream/shared/sink/sinktest"
	"github.com/logstream/logstream/shared/sink/splunk"
	"github.com/logstream/logstream/shared/sink/webhook"
	"github.com/logstream/logstream/shared/stream"
)

// Credentials of the echo tests. The free-form ones hold the characters
// that JSON and URL encodings change: a quote, a backslash, non-ASCII.
const (
	echoDatadogKey  = "5f2c9a7e1b3d4c6f8a0e2d4b6c8f1a3e"
	echoLokiUser    = "acct-734512"
	echoLokiPass    = `glc_pa"ss\wörd+7Qz9/Xk2Lm8=`
	echoSplunkToken = "8a1f9c2e-4b7d-4e3a-9c5f-2d8e6b1a7f40"
	echoBearer      = `t0k"en\é€+9Fq2/Lx7Vm4Rz`
	echoBasicUser   = "svc-user"
	echoBasicPass   = `p@ss"w\ö+Hk3/Jq8Zt`
	echoSigning     = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

func basic(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// echoDest is a destination type whose receiver echoes the credentials it
// received back in its error answer.
type echoDest struct {
	name   string
	limits deliver.Limits
	stream func(t *testing.T, url string) stream.Stream
	sender func(c *http.Client, url string) deliver.Sender
	// wire reads the credentials as they arrived: header values and, for
	// Basic auth, what they decode to.
	wire func(r *http.Request) []string
	// secrets must never show in any form; parts are the secret values
	// proper, of which no 8-byte piece may show either.
	secrets, parts []string
}

func basicWire(r *http.Request) []string {
	out := []string{r.Header.Get("Authorization")}
	if u, p, ok := r.BasicAuth(); ok {
		out = append(out, u+":"+p, p)
	}
	return out
}

var echoDests = []echoDest{
	{name: "datadog", limits: datadog.Limits,
		stream: func(t *testing.T, _ string) stream.Stream {
			return sinktest.Stream(t, "datadog", map[string]any{"site": "datadoghq.eu", "api_key": echoDatadogKey})
		},
		sender: func(c *http.Client, url string) deliver.Sender {
			return &datadog.Sender{Client: c, UserAgent: "logstream/test", URL: func(string) string { return url + "/api/v2/logs" }}
		},
		wire:    func(r *http.Request) []string { return []string{r.Header.Get("DD-API-KEY")} },
		secrets: []string{echoDatadogKey}, parts: []string{echoDatadogKey}},
	{name: "grafana_loki", limits: loki.Limits,
		stream: func(t *testing.T, url string) stream.Stream {
			return sinktest.Stream(t, "grafana_loki", map[string]any{"url": url + "/loki/api/v1/push", "format": "json",
				"username": echoLokiUser, "password": echoLokiPass})
		},
		sender: func(c *http.Client, _ string) deliver.Sender {
			return &loki.Sender{Client: c, UserAgent: "logstream/test"}
		},
		wire:    basicWire,
		secrets: []string{echoLokiPass, echoLokiUser + ":" + echoLokiPass, "Basic " + basic(echoLokiUser, echoLokiPass)},
		parts:   []string{echoLokiPass}},
	{name: "splunk_hec", limits: splunk.Limits,
		stream: func(t *testing.T, url string) stream.Stream {
			return sinktest.Stream(t, "splunk_hec", map[string]any{"url": url, "token": echoSplunkToken})
		},
		sender: func(c *http.Client, _ string) deliver.Sender {
			return &splunk.Sender{Client: c, UserAgent: "logstream/test"}
		},
		wire:    func(r *http.Request) []string { return []string{r.Header.Get("Authorization")} },
		secrets: []string{echoSplunkToken, "Splunk " + echoSplunkToken}, parts: []string{echoSplunkToken}},
	{name: "http bearer", limits: webhook.Limits,
		stream: func(t *testing.T, url string) stream.Stream {
			return sinktest.Stream(t, "http", map[string]any{"endpoint": url + "/hook", "authorization": "Bearer " + echoBearer,
				"signing_secret": echoSigning})
		},
		sender: func(c *http.Client, _ string) deliver.Sender {
			return &webhook.Sender{Client: c, UserAgent: "logstream/test"}
		},
		wire:    func(r *http.Request) []string { return []string{r.Header.Get("Authorization")} },
		secrets: []string{echoBearer, "Bearer " + echoBearer, echoSigning}, parts: []string{echoBearer, echoSigning}},
	{name: "http basic", limits: webhook.Limits,
		stream: func(t *testing.T, url string) stream.Stream {
			return sinktest.Stream(t, "http", map[string]any{"endpoint": url + "/hook",
				"authorization": "Basic " + basic(echoBasicUser, echoBasicPass)})
		},
		sender: func(c *http.Client, _ string) deliver.Sender {
			return &webhook.Sender{Client: c, UserAgent: "logstream/test"}
		},
		wire:    basicWire,
		secrets: []string{echoBasicPass, echoBasicUser + ":" + echoBasicPass, basic(echoBasicUser, echoBasicPass)},
		parts:   []string{echoBasicPass}},
}

// maxShownAnswer is the most of a destination's answer an error text may
// carry, with an ellipsis when it was cut.
const maxShownAnswer = 512 + len("…")

// A destination that echoes its request's credentials in an error answer,
// in any encoding and wherever the answer puts them, must not get any form
// of them into the error, health, the DLQ reason or the logs; and the
// answer is cut to a few hundred bytes without leaving half a secret.
func TestEchoedCredentialsNeverShow(t *testing.T) {
	type echo struct {
		name    string
		filler  int // bytes of answer before the echo, to put it across a length limit
		encode  func(string) string
		wantTag bool // the redaction mark must be in the error text
	}
	var cases []echo
	for _, e := range sinktest.Encodings {
		cases = append(cases, echo{name: e.Name, encode: e.Encode, wantTag: true})
	}
	for _, at := range []int{512, 1024, 4096, 8192, 65536} {
		cases = append(cases, echo{name: fmt.Sprintf("across byte %d", at), filler: at - 20, encode: func(s string) string { return s }})
	}
	for _, d := range echoDests {
		for _, c := range cases {
			t.Run(d.name+"/"+c.name, func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.Copy(io.Discard, r.Body)
					w.Header().Set("Content-Type", "text/plain")
					w.WriteHeader(http.StatusUnauthorized)
					var b strings.Builder
					b.WriteString(strings.Repeat("x", c.filler))
					for _, v := range d.wire(r) {
						fmt.Fprintf(&b, "credential %s rejected; ", c.encode(v))
					}
					b.WriteString("\nrequest headers:\n")
					for _, k := range slices.Sorted(func(yield func(string) bool) {
						for k := range r.Header {
							if !yield(k) {
								return
							}
						}
					}) {
						fmt.Fprintf(&b, "%s: %s\n", k, c.encode(r.Header.Get(k)))
					}
					io.WriteString(w, b.String())
				}))
				defer srv.Close()

				client := netguard.Policy{AllowPrivate: true}.Client(5 * time.Second)
				out := sinktest.Deliver(t, d.sender(client, srv.URL), d.limits, d.stream(t, srv.URL), sinktest.NowEvent(), "m-echo")
				out.NoLeaks(t, d.secrets, d.parts, 8, c.wantTag)
				var se *sink.StatusError
				if !errors.As(out.Err, &se) {
					t.Fatalf("send error %v is not the destination's answer", out.Err)
				}
				if len(se.Body) > maxShownAnswer {
					t.Errorf("the error carries %d bytes of the answer, want at most %d", len(se.Body), maxShownAnswer)
				}
			})
		}
	}
}
