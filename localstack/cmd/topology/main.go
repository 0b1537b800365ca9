// Command topology prints facts from shared/topology for the Makefile, so the
// build takes its list of functions from the single source of truth.
//
//	topology functions   one line per function: "<id> <source dir below functions/>"
//	topology manifest    the production manifest as JSON
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/logstream/logstream/shared/topology"
)

func main() {
	spec := topology.New("logstream")
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: topology functions|manifest")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "functions":
		for _, f := range spec.Functions {
			fmt.Println(f.ID, f.SourceDir)
		}
	case "manifest":
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(spec.Manifest()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	default:
		fmt.Fprintln(os.Stderr, "usage: topology functions|manifest")
		os.Exit(2)
	}
}
