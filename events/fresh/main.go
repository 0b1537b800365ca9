// Command fresh prints a sample with its times moved so that the latest is
// now (events.Fresh), so the samples in events/auth are accepted on any date:
//
//	go run ./events/fresh events/auth/okta.json | curl … --data-binary @-
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/logstream/logstream/events"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./events/fresh FILE")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := os.Stdout.Write(events.Fresh(data, time.Now())); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
