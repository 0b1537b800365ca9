package eventbridge

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/sink/sinktest"
)

// An endpoint that echoes the request's credentials (its session token and
// its Authorization header, which names the access key) in an error, for
// the whole call or for one entry, must not get any form of them into the
// error, health, the DLQ reason or the logs.
func TestEchoedCredentialsNeverShow(t *testing.T) {
	secrets := []string{testSessionToken, testAccessKey, testSecretKey}
	for _, e := range sinktest.Encodings {
		for _, where := range []string{"call", "entry"} {
			t.Run(e.Name+"/"+where, func(t *testing.T) {
				rc := newReceiver(t, busEU)
				rc.echo = func(w http.ResponseWriter, r *http.Request) {
					auth := r.Header.Get("Authorization")
					msg := fmt.Sprintf("not authorized: key %s, token %s, header %s", e.Encode(sinktest.AccessKeyID(auth)),
						e.Encode(r.Header.Get("X-Amz-Security-Token")), e.Encode(auth))
					if where == "call" {
						awsError(w, http.StatusForbidden, "AccessDeniedException", msg)
						return
					}
					w.Header().Set("Content-Type", "application/x-amz-json-1.1")
					b, _ := json.Marshal(map[string]any{"FailedEntryCount": 1,
						"Entries": []map[string]string{{"ErrorCode": "NotAuthorizedForSourceException", "ErrorMessage": msg}}})
					w.Write(b)
				}
				s := testSender(rc.srv.URL)
				s.Now = time.Now
				out := sinktest.Deliver(t, s, Limits, busStream(t, busEU, nil), sinktest.NowEvent(), "m-echo")
				out.NoLeaks(t, secrets, secrets, 12, true)
			})
		}
	}
}
