package destination

import (
	"net/netip"
	"regexp"
	"strings"
)

// EventBridgeConfig is the config of an "eventbridge" destination: events
// put on an Amazon EventBridge event bus.
type EventBridgeConfig struct {
	// EventBusARN is the bus's ARN.
	EventBusARN string `json:"event_bus_arn"`
	// Region is the bus's region; it must match the ARN's and is taken from
	// it when empty.
	Region string `json:"region"`
	// Source is the entries' Source (default "logstream").
	Source string `json:"source"`
	// DetailType is the entries' DetailType; empty means each event's own
	// type.
	DetailType string `json:"detail_type,omitempty"`
}

// Type implements Config.
func (c *EventBridgeConfig) Type() string { return EventBridge }

// Secrets implements Config: an EventBridge destination has none; logstream
// reaches the bus with its own IAM role.
func (c *EventBridgeConfig) Secrets() map[string]*string { return map[string]*string{} }

// SecretBindings implements Config: none. Moving the bus (event_bus_arn,
// region) carries no stored credential: logstream puts events with its own
// IAM role, which is neither stored with the stream nor shown, and the bus's
// resource policy decides whether to accept them.
func (c *EventBridgeConfig) SecretBindings() map[string][]string { return nil }

// EventBridgeDefaultSource is the Source of entries when the config sets none.
const EventBridgeDefaultSource = "logstream"

var (
	eventBusARN = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):events:([^:]*):([^:]*):event-bus/(.*)$`)
	// EventBridge CreateEventBus Name: 1–256 characters matching
	// [/\.\-_A-Za-z0-9]+, and "Custom event bus names can't contain the /
	// character" (only partner buses, which take no PutEvents from
	// customers, do).
	eventBusName = charset{max: 256, allowed: alphanumeric + ".-_"}
	// PutEvents Source: 1–256 characters; EventBridge Scheduler's pattern
	// for the same field is (?=[/\.\-_A-Za-z0-9]+)((?!aws\.).*), and the
	// "aws." prefix is reserved for AWS services.
	eventBridgeSource = charset{max: 256, allowed: alphanumeric + "/.-_"}
)

// PutEvents DetailType: "Length Constraints: Minimum length of 1. Maximum
// length of 128."
const maxDetailType = 128

func (c *EventBridgeConfig) validate() *FieldError {
	c.EventBusARN = strings.TrimSpace(c.EventBusARN)
	if c.EventBusARN == "" {
		return invalid("event_bus_arn", "is required")
	}
	m := eventBusARN.FindStringSubmatch(c.EventBusARN)
	if m == nil {
		return invalid("event_bus_arn", "must be an event bus ARN: arn:aws:events:<region>:<account>:event-bus/<name>")
	}
	partition, region, account, name := m[1], m[2], m[3], m[4]
	if !awsRegionPattern.MatchString(region) {
		return invalid("event_bus_arn", "has an invalid region %q", region)
	}
	if awsPartition(region) != partition {
		return invalid("event_bus_arn", "region %s is not in partition %s", region, partition)
	}
	if !awsAccountID.MatchString(account) {
		return invalid("event_bus_arn", "must hold a 12-digit account ID")
	}
	if !eventBusName.MatchString(name) {
		return invalid("event_bus_arn", "event bus name must be 1 to 256 letters, digits and . - _")
	}

	if strings.TrimSpace(c.Region) == "" {
		c.Region = region
	}
	r, err := checkRegion("region", c.Region)
	if err != nil {
		return err
	}
	if r != region {
		return invalid("region", "must match the event bus ARN's region %s", region)
	}
	c.Region = r

	c.Source = strings.TrimSpace(c.Source)
	if c.Source == "" {
		c.Source = EventBridgeDefaultSource
	}
	if !eventBridgeSource.MatchString(c.Source) {
		return invalid("source", "must be 1 to 256 letters, digits and / . - _")
	}
	if strings.HasPrefix(strings.ToLower(c.Source), "aws.") {
		return invalid("source", "must not start with \"aws.\", which is reserved for AWS services")
	}

	c.DetailType = strings.TrimSpace(c.DetailType)
	return checkText("detail_type", c.DetailType, maxDetailType)
}

// S3Config is the config of an "s3" destination: batches of events written
// as objects to an S3 general purpose bucket.
type S3Config struct {
	// Bucket is the bucket's name.
	Bucket string `json:"bucket"`
	// Prefix starts every object key, as "logs/prod/".
	Prefix string `json:"prefix,omitempty"`
	// Region is the bucket's region.
	Region string `json:"region"`
	// RoleARN, when set, is assumed to write to the bucket.
	RoleARN string `json:"role_arn,omitempty"`
}

// Type implements Config.
func (c *S3Config) Type() string { return S3 }

// Secrets implements Config: an S3 destination has none.
func (c *S3Config) Secrets() map[string]*string { return map[string]*string{} }

// SecretBindings implements Config: none. Moving the bucket or role (bucket,
// role_arn) carries no stored credential: logstream writes with its own IAM
// role, or assumes role_arn with the project id as ExternalId, and neither is
// a secret kept with the stream; the role's trust policy decides.
func (c *S3Config) SecretBindings() map[string][]string { return nil }

var (
	s3BucketChars = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	dottedQuad    = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$`)
	iamRoleARN    = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::([^:]*):role/(.+)$`)
	// IAM names (IAM User Guide, IAM and AWS STS quotas → IAM name
	// requirements): role names and path segments are alphanumeric plus
	// + = , . @ _ -.
	iamName = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]+$`)
)

// General purpose bucket naming rules (Amazon S3 User Guide): reserved
// prefixes and suffixes.
var (
	s3ReservedPrefixes = []string{"xn--", "sthree-", "amzn-s3-demo-"}
	s3ReservedSuffixes = []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}
)

const (
	maxS3Prefix = 512
	// IAM quotas: role name 64 characters, path 512.
	maxIAMRoleName = 64
	maxIAMPath     = 512
)

// s3BucketProblem checks the general purpose bucket naming rules: 3–63
// characters; lowercase letters, digits, dots and hyphens; beginning and
// ending with a letter or digit; no two adjacent periods; not formatted as an
// IP address; none of the reserved prefixes and suffixes.
func s3BucketProblem(b string) string {
	switch {
	case len(b) < 3 || len(b) > 63:
		return "must be 3 to 63 characters"
	case !s3BucketChars.MatchString(b):
		return "may hold only lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit"
	case strings.Contains(b, ".."):
		return "must not contain two adjacent periods"
	case dottedQuad.MatchString(b):
		return "must not be formatted as an IP address"
	}
	if _, err := netip.ParseAddr(b); err == nil {
		return "must not be formatted as an IP address"
	}
	for _, p := range s3ReservedPrefixes {
		if strings.HasPrefix(b, p) {
			return "must not start with the reserved prefix " + p
		}
	}
	for _, s := range s3ReservedSuffixes {
		if strings.HasSuffix(b, s) {
			return "must not end with the reserved suffix " + s
		}
	}
	return ""
}

func (c *S3Config) validate() *FieldError {
	c.Bucket = strings.TrimSpace(c.Bucket)
	if c.Bucket == "" {
		return invalid("bucket", "is required")
	}
	if msg := s3BucketProblem(c.Bucket); msg != "" {
		return invalid("bucket", "%s", msg)
	}

	c.Prefix = strings.TrimSpace(c.Prefix)
	switch {
	case strings.HasPrefix(c.Prefix, "/"):
		return invalid("prefix", "must not start with /")
	case runeLen(c.Prefix) > maxS3Prefix:
		return invalid("prefix", "must be at most %d characters", maxS3Prefix)
	case hasControl(c.Prefix):
		return invalid("prefix", "must not contain control characters")
	}
	for _, seg := range strings.Split(c.Prefix, "/") {
		if seg == "." || seg == ".." {
			return invalid("prefix", "must not contain . or .. segments")
		}
	}

	r, err := checkRegion("region", c.Region)
	if err != nil {
		return err
	}
	c.Region = r

	c.RoleARN = strings.TrimSpace(c.RoleARN)
	if c.RoleARN != "" {
		m := iamRoleARN.FindStringSubmatch(c.RoleARN)
		if m == nil {
			return invalid("role_arn", "must be an IAM role ARN: arn:aws:iam::<account>:role/<name>")
		}
		partition, account, pathName := m[1], m[2], m[3]
		if partition != awsPartition(c.Region) {
			return invalid("role_arn", "partition %s does not match region %s", partition, c.Region)
		}
		if !awsAccountID.MatchString(account) {
			return invalid("role_arn", "must hold a 12-digit account ID")
		}
		segs := strings.Split(pathName, "/")
		name := segs[len(segs)-1]
		if len(name) > maxIAMRoleName || !iamName.MatchString(name) {
			return invalid("role_arn", "role name must be 1 to 64 letters, digits and + = , . @ _ -")
		}
		if len(pathName)-len(name)+1 > maxIAMPath {
			return invalid("role_arn", "role path must be at most %d characters", maxIAMPath)
		}
		for _, s := range segs[:len(segs)-1] {
			if !iamName.MatchString(s) {
				return invalid("role_arn", "role path segments must be letters, digits and + = , . @ _ -")
			}
		}
	}
	return nil
}
