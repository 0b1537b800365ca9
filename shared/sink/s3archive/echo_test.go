package s3archive

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink/sinktest"
)

// An S3 or STS endpoint that echoes the request's credentials (the session
// token, and the Authorization header that names the access key) in its
// error must not get any form of them into the error, health, the DLQ
// reason or the logs: neither logstream's own nor the customer's role's.
func TestEchoedCredentialsNeverShow(t *testing.T) {
	secrets := []string{baseKeyID, baseSecret, roleKeyID, roleSecret, roleToken}
	tests := []struct {
		name     string
		role     string
		s3Error  *awsError
		stsError *awsError
	}{
		{name: "PutObject", s3Error: &awsError{status: 403, code: "AccessDenied"}},
		{name: "PutObject with the role's session", role: testRole, s3Error: &awsError{status: 403, code: "AccessDenied"}},
		{name: "AssumeRole", role: testRole, stsError: &awsError{status: 403, code: "AccessDenied"}},
	}
	for _, tc := range tests {
		for _, e := range sinktest.Encodings {
			t.Run(tc.name+"/"+e.Name, func(t *testing.T) {
				st := s3Stream(t, destination.S3Config{Bucket: testBucket, Region: "eu-west-1", RoleARN: tc.role})
				f := &fakeAWS{bucket: testBucket, region: "eu-west-1", tls: true, wantRole: tc.role,
					wantExtID: st.ProjectID, wantSessID: "logstream-" + st.ID, s3Error: tc.s3Error, stsError: tc.stsError,
					echo: func(r *http.Request) string {
						auth := r.Header.Get("Authorization")
						return fmt.Sprintf("Access Denied for key %s, token %s, header %s", e.Encode(sinktest.AccessKeyID(auth)),
							e.Encode(r.Header.Get("X-Amz-Security-Token")), e.Encode(auth))
					}}
				s, _ := startFake(t, f, 5*time.Second)
				s.Now = time.Now
				out := sinktest.Deliver(t, s, Limits, st, sinktest.NowEvent(), testKey)
				out.NoLeaks(t, secrets, secrets, 12, true)
			})
		}
	}
}
