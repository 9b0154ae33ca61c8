// Command rill is the Rill broker and its tools.
//
//	rill serve    [--data-dir DIR] [--listen HOST:PORT] [--config FILE] [--set key=value]...
//	rill segdump  [--records [--payload]] FILE...
//	rill topic    create|list|describe|delete|alter [flags] [TOPIC...]
//	rill produce  --topic T [flags] < lines
//	rill consume  --topic T [--group G] [flags]
//	rill group    list|describe|reset-offsets|delete [flags] [GROUP...]
//	rill txn      list|describe|describe-producers|find-hanging|abort [flags] [TRANSACTIONAL-ID...]
//	rill acl      create|list|delete [flags]
//	rill user     create|list|delete [flags]
//	rill quota    alter|describe [flags]
//	rill bench    produce|consume|e2e|limits [flags]
//
// Client tools take --bootstrap HOST:PORT,... and --command-config FILE
// (Kafka client properties: security.protocol, sasl.*, ssl.*, client.id,
// bootstrap.servers).
package main

import (
	"fmt"
	"os"
)

func usage() {
	fmt.Fprint(os.Stderr, `usage: rill <command> [flags]

commands:
  serve     run a broker
  segdump   print segment, index and time index files
  topic     create|list|describe|delete|alter topics
  produce   produce stdin lines (key<sep>value with --key-separator)
  consume   print records from a starting point, or as a consumer group member (--group)
  group     list|describe|reset-offsets|delete consumer groups, with lag per partition
  txn       list|describe|describe-producers|find-hanging|abort transactions (kafka-transactions.sh)
  acl       create|list|delete ACLs (kafka-acls.sh)
  user      create|list|delete SCRAM users (kafka-configs.sh --entity-type users)
  quota     alter|describe client quotas (kafka-configs.sh --entity-type users|clients|ips)
  bench     produce|consume|e2e workloads against any Kafka broker; limits of this machine

Client tools (topic, produce, consume, group, txn, acl, user, quota, bench) take
--bootstrap HOST:PORT,... and --command-config FILE (Kafka client properties:
security.protocol, sasl.mechanism, sasl.jaas.config, ssl.*, client.id,
bootstrap.servers).

Run "rill <command> -h" for a command's flags.
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
	case "topic":
		err = runTopic(os.Args[2:], os.Stdout)
	case "produce":
		err = runProduce(os.Args[2:], os.Stdin, os.Stdout)
	case "consume":
		err = runConsume(os.Args[2:], os.Stdout)
	case "group":
		err = runGroup(os.Args[2:], os.Stdout)
	case "txn":
		err = runTxn(os.Args[2:], os.Stdout)
	case "acl":
		err = runACL(os.Args[2:], os.Stdout)
	case "user":
		err = runUser(os.Args[2:], os.Stdin, os.Stdout)
	case "quota":
		err = runQuota(os.Args[2:], os.Stdout)
	case "bench":
		err = runBench(os.Args[2:], os.Stdout)
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
