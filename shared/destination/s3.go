package destination

import (
	"net/netip"
	"strings"

	"github.com/logstream/logstream/shared/netguard"
)

// S3 is the type of destinations that write batches of events as objects
// to an S3 bucket in the customer's account.
const S3 = "s3"

// s3Kind declares the type. The sender writes with logstream's own role, or
// assumes the role a stream names: the bucket policy, or the role's trust
// policy (which must require the project id as ExternalId), admits it.
var s3Kind = Kind{
	Type: S3,
	New:  func() Config { return &S3Config{} },
	AWS:  AWSS3,
	Grants: []Grant{{
		Sid:        "PutObjectsInCustomerBuckets",
		Actions:    []string{"s3:PutObject"},
		ARN:        "s3:::*/*",
		AccountKey: "s3:ResourceAccount",
	}, {
		Sid:        "AssumeCustomerDeliveryRoles",
		Actions:    []string{"sts:AssumeRole"},
		ARN:        "iam::*:role/*",
		AccountKey: "aws:ResourceAccount",
	}},
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
	s3BucketChars = lazyRegexp(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	dottedQuad    = lazyRegexp(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$`)
	iamRoleARN    = lazyRegexp(`^arn:(aws|aws-cn|aws-us-gov):iam::([^:]*):role/(.+)$`)
	// IAM names (IAM User Guide, IAM and AWS STS quotas → IAM name
	// requirements): role names and path segments are alphanumeric plus
	// + = , . @ _ -.
	iamName = lazyRegexp(`^[A-Za-z0-9+=,.@_-]+$`)
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
	case !s3BucketChars().MatchString(b):
		return "may hold only lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit"
	case strings.Contains(b, ".."):
		return "must not contain two adjacent periods"
	case dottedQuad().MatchString(b):
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

func (c *S3Config) validate(netguard.Policy) *FieldError {
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
		m := iamRoleARN().FindStringSubmatch(c.RoleARN)
		if m == nil {
			return invalid("role_arn", "must be an IAM role ARN: arn:aws:iam::<account>:role/<name>")
		}
		partition, account, pathName := m[1], m[2], m[3]
		if partition != awsPartition(c.Region) {
			return invalid("role_arn", "partition %s does not match region %s", partition, c.Region)
		}
		if !awsAccountID().MatchString(account) {
			return invalid("role_arn", "must hold a 12-digit account ID")
		}
		segs := strings.Split(pathName, "/")
		name := segs[len(segs)-1]
		if len(name) > maxIAMRoleName || !iamName().MatchString(name) {
			return invalid("role_arn", "role name must be 1 to 64 letters, digits and + = , . @ _ -")
		}
		if len(pathName)-len(name)+1 > maxIAMPath {
			return invalid("role_arn", "role path must be at most %d characters", maxIAMPath)
		}
		for _, s := range segs[:len(segs)-1] {
			if !iamName().MatchString(s) {
				return invalid("role_arn", "role path segments must be letters, digits and + = , . @ _ -")
			}
		}
	}
	return nil
}
