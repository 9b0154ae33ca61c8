// Command rill is the Rill broker and its tools.
//
//	rill serve    [--data-dir DIR] [--listen HOST:PORT] [--config FILE] [--set key=value]...
//	rill segdump  [--index] [--records] FILE...
package main

import (
	"fmt"
	"os"
)

func usage() {
	fmt.Fprint(os.Stderr, `usage: rill <command> [flags]

commands:
  serve     run a broker (storage engine; see README for what it serves)
  segdump   print segment, index and time index files
`)
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = runServe(os.Args[2:])
	case "segdump":
		err = runSegdump(os.Args[2:], os.Stdout)
	case "-h", "--help", "help":
		usage()
		return
	default:
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rill:", err)
		os.Exit(1)
	}
}
