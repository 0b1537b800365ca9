package s3archive

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/logstream/logstream/shared/deliver"
	"github.com/logstream/logstream/shared/destination"
	"github.com/logstream/logstream/shared/sink"
)

// s3Codes classifies the S3 error codes whose class is not their status's
// (Amazon S3 API Reference, "Error responses", List of error codes). S3 never
// reads an object's content, so no answer blames individual events: nothing
// here is Rejected, and a 400 the table does not know is Permanent rather
// than a reason to bisect the batch.
var s3Codes = map[string]deliver.Class{
	// 404: the bucket was deleted or never existed. The core suspends the
	// stream and parks its events until the customer fixes it.
	"NoSuchBucket": deliver.Gone,

	// 403: the bucket policy, the role's policy, a KMS key policy or an SCP
	// refuses the write.
	"AccessDenied":      deliver.Permanent,
	"AllAccessDisabled": deliver.Permanent,
	"AccountProblem":    deliver.Permanent,
	// 403: the credentials themselves (logstream's, or the assumed role's).
	"InvalidAccessKeyId":    deliver.Permanent,
	"SignatureDoesNotMatch": deliver.Permanent,
	// 400: "the region 'us-east-1' is wrong; expecting 'eu-west-1'", and
	// 301: "The bucket … must be addressed using the specified endpoint":
	// the stream's region is not the bucket's.
	"AuthorizationHeaderMalformed": deliver.Permanent,
	"PermanentRedirect":            deliver.Permanent,
	// 400: the bucket's Object Ownership refuses ACLs, or a bad request
	// the customer's configuration caused.
	"AccessControlListNotSupported": deliver.Permanent,
	"InvalidBucketName":             deliver.Permanent,
	"KeyTooLongError":               deliver.Permanent,

	// 400 EntityTooLarge: more than a single PUT takes.
	"EntityTooLarge": deliver.TooLarge,

	// 503 SlowDown: "Reduce your request rate"; 500 InternalError and 503
	// ServiceUnavailable: "try again"; 400 RequestTimeout: the socket was
	// idle too long. 307 TemporaryRedirect: a new bucket's DNS is still
	// propagating. 409 OperationAborted: a conflicting operation is under
	// way. ExpiredToken, TokenRefreshRequired and RequestTimeTooSkewed heal
	// once the SDK refreshes the credentials or corrects its clock skew.
	// BadDigest and IncompleteBody: the body was damaged on the way.
	"SlowDown":             deliver.Retryable,
	"InternalError":        deliver.Retryable,
	"ServiceUnavailable":   deliver.Retryable,
	"RequestTimeout":       deliver.Retryable,
	"TemporaryRedirect":    deliver.Retryable,
	"OperationAborted":     deliver.Retryable,
	"ExpiredToken":         deliver.Retryable,
	"TokenRefreshRequired": deliver.Retryable,
	"RequestTimeTooSkewed": deliver.Retryable,
	"BadDigest":            deliver.Retryable,
	"IncompleteBody":       deliver.Retryable,
}

// stsCodes classifies STS AssumeRole errors (STS API Reference, AssumeRole,
// Errors, and Common Errors). Any other 4xx is the stream's configuration
// (a role ARN that does not exist, a trust policy that does not name
// logstream or does not accept the project's ExternalId): Permanent.
var stsCodes = map[string]deliver.Class{
	"AccessDenied":            deliver.Permanent,
	"InvalidClientTokenId":    deliver.Permanent,
	"RegionDisabledException": deliver.Permanent,
	"ExpiredTokenException":   deliver.Retryable, // logstream's own session; the SDK refreshes it
	"ExpiredToken":            deliver.Retryable,
	"Throttling":              deliver.Retryable, // STS throttles with a 400
	"ServiceUnavailable":      deliver.Retryable,
	"InternalFailure":         deliver.Retryable,
}

// classify turns a PutObject error into a classified error that names the
// object (and the role, when assuming it failed) but no credentials: the SDK's
// error texts carry the status, the error code and message, and request ids.
func classify(err error, cfg *destination.S3Config, key string) error {
	var (
		code   string
		status int
	)
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	// awshttp.ResponseError promotes smithyhttp.ResponseError's method but
	// unwraps past it, so match the method, not the type.
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	if fromSTS(err) {
		return deliver.Classify(classOf(stsCodes, code, status),
			fmt.Errorf("assume role %s to write to s3://%s: %w", cfg.RoleARN, cfg.Bucket, err))
	}
	var invalid smithy.InvalidParamsError
	class := classOf(s3Codes, code, status)
	if errors.As(err, &invalid) {
		class = deliver.Permanent
	}
	return deliver.Classify(class, fmt.Errorf("put s3://%s/%s: %w", cfg.Bucket, key, err))
}

// classOf looks the code up, then falls back on the status: no status means
// no answer (refused, reset, timed out: Retryable, as sink.Do does); 408, 429
// and 5xx are Retryable, 413 TooLarge; any other status is a configuration to
// fix.
func classOf(codes map[string]deliver.Class, code string, status int) deliver.Class {
	if c, ok := codes[code]; ok {
		return c
	}
	if status == 0 {
		return deliver.Retryable
	}
	// A 404 without NoSuchBucket (a proxy, an S3-compatible endpoint) is
	// Permanent here, no reason to suspend the stream.
	if c := sink.ClassOfStatus(status); c != deliver.Rejected {
		return c
	}
	return deliver.Permanent
}

// fromSTS reports whether err came from an STS call (assuming the role) rather
// than from S3: the credential provider's error is wrapped inside PutObject's.
func fromSTS(err error) bool {
	for err != nil {
		var op *smithy.OperationError
		if !errors.As(err, &op) {
			return false
		}
		if op.ServiceID == sts.ServiceID {
			return true
		}
		err = op.Err
	}
	return false
}
