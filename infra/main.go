// Command infra is logstream's AWS CDK app. `cdk synth` runs it (see cdk.json);
// it builds one stack from topology.New(prefix) and the cross-built function
// assets in LOGSTREAM_ASSET_DIR (written by `make build`). It makes no network calls.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/logstream/logstream/shared/topology"
)

// Environment variables read by the app.
const (
	envPrefix   = "LOGSTREAM_PREFIX"
	envAssetDir = "LOGSTREAM_ASSET_DIR"
	// envArchiveExpireDays expires the Loki bridge's archive after so many
	// days (unset or 0: never).
	envArchiveExpireDays = "LOGSTREAM_ARCHIVE_EXPIRE_DAYS"
	// envEventArchiveRetentionDays keeps the event archive (every accepted
	// event, for replays) so many days (unset or 0: topology's default,
	// 7; at most 3650).
	envEventArchiveRetentionDays = "LOGSTREAM_EVENT_ARCHIVE_RETENTION_DAYS"
	// envAlarmTopic is where the alarms notify: unset for nowhere,
	// "create" for a new SNS topic, or an existing topic's ARN.
	envAlarmTopic = "LOGSTREAM_ALARM_TOPIC"
	// envAlarmThresholds overrides alarm thresholds (AlarmThresholds), as
	// "DLQDepth=5,DeliveryLagP99=10m"; the rest keep their defaults.
	envAlarmThresholds = "LOGSTREAM_ALARM_THRESHOLDS"

	defaultPrefix   = "logstream"
	defaultAssetDir = "../build"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "logstream infra:", err)
		os.Exit(1)
	}
}

func run() error {
	defer jsii.Close()

	prefix := envOr(envPrefix, defaultPrefix)
	assetDir, err := filepath.Abs(envOr(envAssetDir, defaultAssetDir))
	if err != nil {
		return fmt.Errorf("resolve %s: %w", envAssetDir, err)
	}
	spec := topology.New(prefix)
	// The metrics' opt-in per-project or per-stream detail, off unless
	// set (docs/operations.md, "Metrics": each is billed as a custom
	// metric): the functions' own variable, read at synthesis.
	if err := spec.SetMetricsDetail(os.Getenv(topology.EnvMetricsDetail)); err != nil {
		return err
	}
	// Throughput: the stage throttle, ingestion's reserved concurrency,
	// the delivery mappings' concurrency and batch (docs/scaling.md).
	capacity, err := topology.ParseCapacity(spec.Capacity, os.Getenv(topology.EnvCapacity))
	if err != nil {
		return err
	}
	if err := spec.SetCapacity(capacity); err != nil {
		return err
	}
	if err := spec.Validate(); err != nil {
		return err
	}
	if err := checkAssets(spec, assetDir); err != nil {
		return err
	}

	expireDays := 0
	if v := os.Getenv(envArchiveExpireDays); v != "" {
		if expireDays, err = strconv.Atoi(v); err != nil || expireDays < 0 {
			return fmt.Errorf("%s=%q is not a whole number of days", envArchiveExpireDays, v)
		}
	}

	retentionDays := 0
	if v := os.Getenv(envEventArchiveRetentionDays); v != "" {
		if retentionDays, err = strconv.Atoi(v); err != nil || retentionDays < 0 {
			return fmt.Errorf("%s=%q is not a whole number of days", envEventArchiveRetentionDays, v)
		}
	}
	// Out of range fails here with the variable's name, not as a panic
	// from the stack.
	if _, err := archiveRetention(retentionDays); err != nil {
		return fmt.Errorf("%s: %w", envEventArchiveRetentionDays, err)
	}

	topic, err := parseAlarmTopic(os.Getenv(envAlarmTopic))
	if err != nil {
		return fmt.Errorf("%s: %w", envAlarmTopic, err)
	}
	thresholds, err := parseAlarmThresholds(os.Getenv(envAlarmThresholds))
	if err != nil {
		return fmt.Errorf("%s: %w", envAlarmThresholds, err)
	}
	// Out of range fails here with the variable's name, as above.
	if _, err := thresholds.resolve(spec); err != nil {
		return fmt.Errorf("%s: %w", envAlarmThresholds, err)
	}

	app := awscdk.NewApp(nil)
	NewLogstreamStack(app, "Logstream", &LogstreamStackProps{
		StackProps: awscdk.StackProps{
			// Every resource is named <prefix>-…; the stack follows suit so two
			// prefixes can live side by side in one account.
			StackName:   jsii.String(prefix),
			Description: jsii.String("logstream event-log streaming (prefix " + prefix + ")"),
			Env:         envFromCDK(),
		},
		Spec:                 spec,
		AssetDir:             assetDir,
		ArchiveExpireDays:    expireDays,
		ArchiveRetentionDays: retentionDays,
		Alarms:               thresholds,
		AlarmTopic:           topic,
	})
	app.Synth(nil)
	return nil
}

// checkAssets fails early, with a hint, when a function's bootstrap is missing;
// CDK's own error ("Cannot find asset") does not say how to produce it.
func checkAssets(spec topology.Spec, dir string) error {
	var errs []error
	for _, f := range spec.Functions {
		p := filepath.Join(dir, f.ID, "bootstrap")
		if _, err := os.Stat(p); err != nil {
			errs = append(errs, fmt.Errorf("function %s: %w", f.ID, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("missing function assets in %s (run `make build` or set %s): %w",
			dir, envAssetDir, errors.Join(errs...))
	}
	return nil
}

// envFromCDK pins the stack to the account and region the CDK CLI resolved, if
// any; without them the template stays environment-agnostic.
func envFromCDK() *awscdk.Environment {
	account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION")
	if account == "" && region == "" {
		return nil
	}
	env := &awscdk.Environment{}
	if account != "" {
		env.Account = jsii.String(account)
	}
	if region != "" {
		env.Region = jsii.String(region)
	}
	return env
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
