package main

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/logstream/logstream/shared/topology"
)

// The event archive holds every accepted event unmasked: its own rotated
// KMS key with the S3 Bucket Key, TLS only, never public, ACLs off, no
// versions, expired after the retention, kept with the stack's deletion.
func TestEventArchiveBucket(t *testing.T) {
	s := synth(t)
	bucketID := s.eventArchiveBucket(t)
	keyArn := assertions.NewCapture(nil)
	must(t, "event archive bucket", func() {
		s.template.HasResourceProperties(jsii.String("AWS::S3::Bucket"), obj(map[string]any{
			"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": arr(map[string]any{
				"BucketKeyEnabled": true,
				"ServerSideEncryptionByDefault": map[string]any{
					"SSEAlgorithm":   "aws:kms",
					"KMSMasterKeyID": keyArn,
				},
			})},
			"PublicAccessBlockConfiguration": map[string]any{
				"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			},
			"OwnershipControls": map[string]any{"Rules": arr(map[string]any{"ObjectOwnership": "BucketOwnerEnforced"})},
			// Versions would keep expired events as noncurrent ones.
			"VersioningConfiguration": assertions.Match_Absent(),
			"LifecycleConfiguration": map[string]any{"Rules": arr(map[string]any{
				"Id":                             "retention",
				"Status":                         "Enabled",
				"ExpirationInDays":               7,
				"AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 1},
			})},
		}))
	})
	keyID, err := getAttTarget(*keyArn.AsObject())
	if err != nil {
		t.Fatalf("the event archive's KMSMasterKeyID %v is no key of this stack: %v", *keyArn.AsObject(), err)
	}
	if keyID == s.secretsKey(t) || keyID == s.logicalID(t, "AWS::KMS::Key", "KeySpec", "HMAC_256") {
		t.Errorf("the event archive shares the key %s; it needs its own", keyID)
	}
	resources := s.json["Resources"].(map[string]any)
	key := resources[keyID].(map[string]any)
	if propsOf(key)["EnableKeyRotation"] != true || key["DeletionPolicy"] != "Retain" {
		t.Errorf("event archive key: rotation %v, DeletionPolicy %v; want rotated and retained", propsOf(key)["EnableKeyRotation"], key["DeletionPolicy"])
	}
	// Its key policy is the account's default: every grant is in the
	// functions' roles, where TestLeastPrivilege counts it.
	if doc, _ := json.Marshal(propsOf(key)["KeyPolicy"]); strings.Contains(string(doc), "Role") {
		t.Errorf("event archive key policy names a role: %s", doc)
	}
	if b := resources[bucketID].(map[string]any); b["DeletionPolicy"] != "Retain" || b["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("event archive bucket DeletionPolicy %v, UpdateReplacePolicy %v; want Retain", b["DeletionPolicy"], b["UpdateReplacePolicy"])
	}

	// The bucket policy denies every request without TLS, and allows
	// nothing: access is only what the roles are granted.
	var policies int
	for _, r := range s.resources("AWS::S3::BucketPolicy") {
		p := propsOf(r)
		if !reflect.DeepEqual(p["Bucket"], map[string]any{"Ref": bucketID}) {
			continue
		}
		policies++
		var denyPlain bool
		for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			stmt := st.(map[string]any)
			cond, _ := json.Marshal(stmt["Condition"])
			switch {
			case stmt["Effect"] == "Deny" && string(cond) == `{"Bool":{"aws:SecureTransport":"false"}}`:
				denyPlain = true
			case stmt["Effect"] == "Allow":
				t.Errorf("event archive bucket policy allows %v", stmt)
			}
		}
		if !denyPlain {
			t.Errorf("event archive bucket policy %v does not deny requests without TLS", p["PolicyDocument"])
		}
	}
	if policies != 1 {
		t.Errorf("%d bucket policies on the event archive, want 1", policies)
	}
}

// Every function told the archive's retention is told the lifecycle's:
// 7 days by default.
func TestArchiveRetentionEnv(t *testing.T) {
	s := synth(t)
	if got := archiveRetentionEnv(t, s.json); len(got) == 0 {
		t.Fatal("no function has " + topology.EnvArchiveRetention)
	}
	checkRetention(t, s.json, 7)
}

// ArchiveRetentionDays sets the lifecycle's expiry and the functions'
// retention together; 0 is the default, and a value outside 1–3650 days is
// refused before anything is built.
func TestArchiveRetentionDays(t *testing.T) {
	var tpl map[string]any
	if err := catch(func() {
		stack := NewLogstreamStack(newTestApp(), "Logstream", &LogstreamStackProps{
			Spec: topology.New(testPrefix), AssetDir: testAssets, ArchiveRetentionDays: 30,
		})
		tpl = *assertions.Template_FromStack(stack, nil).ToJSON()
	}); err != nil {
		t.Fatal(err)
	}
	checkRetention(t, tpl, 30)

	for _, days := range []int{-1, maxArchiveRetentionDays + 1} {
		err := catch(func() {
			NewLogstreamStack(newTestApp(), "Logstream", &LogstreamStackProps{
				Spec: topology.New(testPrefix), AssetDir: testAssets, ArchiveRetentionDays: days,
			})
		})
		if err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("ArchiveRetentionDays %d: error %v, want out of range", days, err)
		}
	}
}

func TestArchiveRetention(t *testing.T) {
	tests := []struct {
		days    int
		want    time.Duration
		wantErr bool
	}{
		{days: 0, want: topology.DefaultArchiveRetention},
		{days: 1, want: 24 * time.Hour},
		{days: 3650, want: 3650 * 24 * time.Hour},
		{days: -1, wantErr: true},
		{days: 3651, wantErr: true},
	}
	for _, tc := range tests {
		got, err := archiveRetention(tc.days)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("archiveRetention(%d) = %s, %v; want %s (error %v)", tc.days, got, err, tc.want, tc.wantErr)
		}
	}
}

// checkRetention asserts the event archive expires objects after days,
// and that every function's EnvArchiveRetention says the same.
func checkRetention(t *testing.T, tpl map[string]any, days int) {
	t.Helper()
	id := only(t, "SSE-KMS bucket (the event archive)", bucketsBySSE(tpl, "aws:kms"))
	lc := propsOf(tpl["Resources"].(map[string]any)[id].(map[string]any))["LifecycleConfiguration"].(map[string]any)
	var expiry []any
	for _, r := range lc["Rules"].([]any) {
		if e, ok := r.(map[string]any)["ExpirationInDays"]; ok {
			expiry = append(expiry, e)
		}
	}
	if !reflect.DeepEqual(expiry, []any{float64(days)}) {
		t.Errorf("event archive expiry %v, want one rule of %d days", expiry, days)
	}
	want := (time.Duration(days) * 24 * time.Hour).String()
	for fn, got := range archiveRetentionEnv(t, tpl) {
		if got != want {
			t.Errorf("%s: %s=%v, want %s (the lifecycle's %d days)", fn, topology.EnvArchiveRetention, got, want, days)
		}
	}
}

// archiveRetentionEnv returns each function's EnvArchiveRetention value, by
// function ID, for the functions that have one.
func archiveRetentionEnv(t *testing.T, tpl map[string]any) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::Lambda::Function" {
			continue
		}
		p := propsOf(res)
		fid, err := tag(p["Tags"], FunctionIDTag)
		if err != nil {
			t.Fatal(err)
		}
		env, _ := p["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		if v, ok := vars[topology.EnvArchiveRetention]; ok {
			out[fid] = v
		}
	}
	return out
}

// Who may do what to the event archive, its key and the archive queue,
// counted over every role's policies in the template (functions or not):
// one writer, one reader, the API's listing, and only ingestion sends
// events to be archived.
func TestEventArchiveAccess(t *testing.T) {
	s := synth(t)
	bucketID, keyID := s.eventArchiveBucket(t), s.eventArchiveKey(t)
	aq, _ := s.spec.Queue(topology.ArchiveQueue)
	queueID := s.logicalID(t, "AWS::SQS::Queue", "QueueName", aq.Name)
	dlqID := s.logicalID(t, "AWS::SQS::Queue", "QueueName", aq.DLQName)

	// role logical ID → function ID, for readable failures; a role of no
	// function keeps its logical ID.
	who := map[string]string{}
	for _, r := range s.resources("AWS::Lambda::Function") {
		p := propsOf(r)
		roleID, err := getAttTarget(p["Role"])
		if err != nil {
			continue
		}
		if fid, err := tag(p["Tags"], FunctionIDTag); err == nil {
			who[roleID] = fid
		}
	}
	bucketArn := map[string]any{"Fn::GetAtt": []any{bucketID, "Arn"}}
	objectsArn := map[string]any{"Fn::Join": []any{"", []any{bucketArn, "/*"}}}

	// grants["s3:PutObject on objects"] = the functions (or roles) allowed it.
	grants := map[string][]string{}
	add := func(what, role string) {
		name := who[role]
		if name == "" {
			name = "role " + role
		}
		if !slices.Contains(grants[what], name) {
			grants[what] = append(grants[what], name)
			sort.Strings(grants[what])
		}
	}
	for _, pol := range s.resources("AWS::IAM::Policy") {
		p := propsOf(pol)
		for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			stmt := st.(map[string]any)
			if stmt["Effect"] != "Allow" {
				continue
			}
			res, ok := stmt["Resource"].([]any)
			if !ok {
				res = []any{stmt["Resource"]}
			}
			for _, r := range p["Roles"].([]any) {
				role, _ := r.(map[string]any)["Ref"].(string)
				for _, a := range actionsOf(stmt) {
					for _, rsc := range res {
						switch target, _ := getAttTarget(rsc); {
						case reflect.DeepEqual(rsc, objectsArn):
							add(a+" on objects", role)
						case reflect.DeepEqual(rsc, bucketArn):
							add(a+" on bucket", role)
						case target == keyID:
							add(a+" on key", role)
						case target == queueID:
							add(a+" on queue", role)
						case target == dlqID:
							add(a+" on DLQ", role)
						default:
							// A resource naming the archive any other way (a
							// wildcard, a prefix) would escape the counts.
							if b, _ := json.Marshal(rsc); strings.Contains(string(b), bucketID) || strings.Contains(string(b), keyID) {
								t.Errorf("%s granted on %s: not the bucket, its objects or the key", a, b)
							}
						}
					}
				}
			}
		}
	}

	want := map[string][]string{
		"s3:PutObject on objects":         {topology.FunctionArchiver},
		"s3:GetObject on objects":         {topology.FunctionReplay},
		"s3:ListBucket on bucket":         {topology.FunctionAPI, topology.FunctionReplay},
		"kms:GenerateDataKey on key":      {topology.FunctionArchiver},
		"kms:Decrypt on key":              {topology.FunctionReplay},
		"sqs:SendMessage on queue":        {topology.FunctionIngest},
		"sqs:GetQueueAttributes on queue": {topology.FunctionArchiver, topology.FunctionIngest},
		"sqs:GetQueueUrl on queue":        {topology.FunctionArchiver, topology.FunctionIngest},
		// The archiver's event source consumes the queue.
		"sqs:ReceiveMessage on queue":          {topology.FunctionArchiver},
		"sqs:DeleteMessage on queue":           {topology.FunctionArchiver},
		"sqs:ChangeMessageVisibility on queue": {topology.FunctionArchiver},
		// Nobody touches the archive DLQ: not the dead-letter function,
		// whose letters are deliveries, not archive writes.
	}
	for what, fns := range grants {
		if !reflect.DeepEqual(fns, want[what]) {
			t.Errorf("%s: allowed to %v, want %v", what, fns, want[what])
		}
	}
	for what, fns := range want {
		if _, ok := grants[what]; !ok {
			t.Errorf("%s: allowed to nobody, want %v", what, fns)
		}
	}
}
