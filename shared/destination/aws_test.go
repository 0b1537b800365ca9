package destination

import "testing"

func TestEventBridgeValidate(t *testing.T) {
	const arn = "arn:aws:events:us-east-1:123456789012:event-bus/auth-events"
	base := map[string]any{"event_bus_arn": arn, "region": "us-east-1"}
	eb := func(c Config) *EventBridgeConfig { return c.(*EventBridgeConfig) }
	cases := []vcase{
		{name: "minimal", cfg: base, field: pass, check: func(t *testing.T, c Config) {
			if eb(c).Source != EventBridgeDefaultSource {
				t.Fatalf("source = %q, want the default", eb(c).Source)
			}
		}},
		{name: "region taken from the ARN", cfg: with(base, "region", omit), field: pass, check: func(t *testing.T, c Config) {
			if eb(c).Region != "us-east-1" {
				t.Fatalf("region = %q", eb(c).Region)
			}
		}},
		{name: "region upper case", cfg: with(base, "region", "US-EAST-1"), field: pass},
		{name: "region mismatch", cfg: with(base, "region", "eu-west-1"), field: "region"},
		{name: "region invalid", cfg: with(base, "region", "east"), field: "region"},
		{name: "default bus", cfg: with(base, "event_bus_arn", "arn:aws:events:us-east-1:123456789012:event-bus/default"), field: pass},
		{name: "china partition", cfg: map[string]any{"event_bus_arn": "arn:aws-cn:events:cn-north-1:123456789012:event-bus/b"}, field: pass},
		{name: "govcloud partition", cfg: map[string]any{"event_bus_arn": "arn:aws-us-gov:events:us-gov-west-1:123456789012:event-bus/b"}, field: pass},
		{name: "partition does not match region", cfg: map[string]any{"event_bus_arn": "arn:aws-cn:events:us-east-1:123456789012:event-bus/b"}, field: "event_bus_arn"},
		{name: "arn missing", cfg: with(base, "event_bus_arn", omit), field: "event_bus_arn"},
		{name: "arn of another service", cfg: with(base, "event_bus_arn", "arn:aws:sqs:us-east-1:123456789012:queue"), field: "event_bus_arn"},
		{name: "arn of a rule", cfg: with(base, "event_bus_arn", "arn:aws:events:us-east-1:123456789012:rule/r"), field: "event_bus_arn"},
		{name: "arn unknown partition", cfg: with(base, "event_bus_arn", "arn:aws-iso:events:us-east-1:123456789012:event-bus/b"), field: "event_bus_arn"},
		{name: "arn 11-digit account", cfg: with(base, "event_bus_arn", "arn:aws:events:us-east-1:12345678901:event-bus/b"), field: "event_bus_arn"},
		{name: "arn invalid region", cfg: with(base, "event_bus_arn", "arn:aws:events:useast1:123456789012:event-bus/b"), field: "event_bus_arn"},
		{name: "bus name with slash", cfg: with(base, "event_bus_arn", "arn:aws:events:us-east-1:123456789012:event-bus/aws.partner/x/y"), field: "event_bus_arn"},
		{name: "bus name empty", cfg: with(base, "event_bus_arn", "arn:aws:events:us-east-1:123456789012:event-bus/"), field: "event_bus_arn"},
		{name: "bus name 256 chars", cfg: with(base, "event_bus_arn", "arn:aws:events:us-east-1:123456789012:event-bus/"+repeat("b", 256)), field: pass},
		{name: "bus name 257 chars", cfg: with(base, "event_bus_arn", "arn:aws:events:us-east-1:123456789012:event-bus/"+repeat("b", 257)), field: "event_bus_arn"},
		{name: "source", cfg: with(base, "source", "com.example/auth_events-1"), field: pass},
		{name: "source aws prefix", cfg: with(base, "source", "aws.events"), field: "source"},
		{name: "source AWS prefix upper case", cfg: with(base, "source", "AWS.events"), field: "source"},
		{name: "source with space", cfg: with(base, "source", "my app"), field: "source"},
		{name: "source 257 chars", cfg: with(base, "source", repeat("s", 257)), field: "source"},
		{name: "detail type 128 chars", cfg: with(base, "detail_type", repeat("d", 128)), field: pass},
		{name: "detail type 129 chars", cfg: with(base, "detail_type", repeat("d", 129)), field: "detail_type"},
		{name: "detail type with newline", cfg: with(base, "detail_type", "a\nb"), field: "detail_type"},
	}
	runCases(t, EventBridge, cases)
}

func TestS3Validate(t *testing.T) {
	base := map[string]any{"bucket": "acme-logs.prod", "region": "eu-west-1"}
	cases := []vcase{
		{name: "minimal", cfg: base, field: pass},
		{name: "full", cfg: with(base, "prefix", "logstream/auth/", "role_arn", "arn:aws:iam::123456789012:role/service-role/logstream-writer"), field: pass},
		{name: "bucket missing", cfg: with(base, "bucket", omit), field: "bucket"},
		{name: "bucket 3 chars", cfg: with(base, "bucket", "abc"), field: pass},
		{name: "bucket 2 chars", cfg: with(base, "bucket", "ab"), field: "bucket"},
		{name: "bucket 63 chars", cfg: with(base, "bucket", repeat("b", 63)), field: pass},
		{name: "bucket 64 chars", cfg: with(base, "bucket", repeat("b", 64)), field: "bucket"},
		{name: "bucket upper case", cfg: with(base, "bucket", "Acme-Logs"), field: "bucket"},
		{name: "bucket underscore", cfg: with(base, "bucket", "acme_logs"), field: "bucket"},
		{name: "bucket starts with hyphen", cfg: with(base, "bucket", "-acme"), field: "bucket"},
		{name: "bucket ends with period", cfg: with(base, "bucket", "acme."), field: "bucket"},
		{name: "bucket adjacent periods", cfg: with(base, "bucket", "acme..logs"), field: "bucket"},
		{name: "bucket IP address", cfg: with(base, "bucket", "192.168.5.4"), field: "bucket"},
		{name: "bucket xn-- prefix", cfg: with(base, "bucket", "xn--acme"), field: "bucket"},
		{name: "bucket sthree- prefix", cfg: with(base, "bucket", "sthree-acme"), field: "bucket"},
		{name: "bucket amzn-s3-demo- prefix", cfg: with(base, "bucket", "amzn-s3-demo-acme"), field: "bucket"},
		{name: "bucket -s3alias suffix", cfg: with(base, "bucket", "acme-s3alias"), field: "bucket"},
		{name: "bucket --ol-s3 suffix", cfg: with(base, "bucket", "acme--ol-s3"), field: "bucket"},
		{name: "bucket .mrap suffix", cfg: with(base, "bucket", "acme.mrap"), field: "bucket"},
		{name: "bucket --x-s3 suffix", cfg: with(base, "bucket", "acme--x-s3"), field: "bucket"},
		{name: "bucket --table-s3 suffix", cfg: with(base, "bucket", "acme--table-s3"), field: "bucket"},
		{name: "prefix leading slash", cfg: with(base, "prefix", "/logs"), field: "prefix"},
		{name: "prefix dot-dot segment", cfg: with(base, "prefix", "logs/../other"), field: "prefix"},
		{name: "prefix dot segment", cfg: with(base, "prefix", "./logs"), field: "prefix"},
		{name: "prefix dots inside a segment", cfg: with(base, "prefix", "logs..v2/"), field: pass},
		{name: "prefix 512 chars", cfg: with(base, "prefix", repeat("p", 512)), field: pass},
		{name: "prefix 513 chars", cfg: with(base, "prefix", repeat("p", 513)), field: "prefix"},
		{name: "prefix control character", cfg: with(base, "prefix", "logs\x7f/"), field: "prefix"},
		{name: "region missing", cfg: with(base, "region", omit), field: "region"},
		{name: "region invalid", cfg: with(base, "region", "eu-west"), field: "region"},
		{name: "region govcloud", cfg: with(base, "region", "us-gov-west-1"), field: pass},
		{name: "role arn 11-digit account", cfg: with(base, "role_arn", "arn:aws:iam::12345678901:role/w"), field: "role_arn"},
		{name: "role arn of a user", cfg: with(base, "role_arn", "arn:aws:iam::123456789012:user/w"), field: "role_arn"},
		{name: "role arn with region", cfg: with(base, "role_arn", "arn:aws:iam:eu-west-1:123456789012:role/w"), field: "role_arn"},
		{name: "role name 64 chars", cfg: with(base, "role_arn", "arn:aws:iam::123456789012:role/"+repeat("r", 64)), field: pass},
		{name: "role name 65 chars", cfg: with(base, "role_arn", "arn:aws:iam::123456789012:role/"+repeat("r", 65)), field: "role_arn"},
		{name: "role name with space", cfg: with(base, "role_arn", "arn:aws:iam::123456789012:role/my role"), field: "role_arn"},
		{name: "role path empty segment", cfg: with(base, "role_arn", "arn:aws:iam::123456789012:role/a//w"), field: "role_arn"},
		{name: "role partition does not match region", cfg: with(base, "role_arn", "arn:aws-cn:iam::123456789012:role/w"), field: "role_arn"},
		{name: "role in govcloud", cfg: with(base, "region", "us-gov-east-1", "role_arn", "arn:aws-us-gov:iam::123456789012:role/w"), field: pass},
	}
	runCases(t, S3, cases)
}
