package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/engine/dirlock"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/internal/version"
	"github.com/rillmq/rill/replication/metadata"
)

type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// runServe is rill serve: read and check every setting, bind the
// listeners, then lock and recover the data directory and serve until
// SIGTERM or SIGINT. Nothing is opened, created or bound before every
// setting has been checked (servePlan).
func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "data directory (sets log.dirs; default log.dir, ./data)")
	listenAddr := fs.String("listen", "", "listen address HOST:PORT, short for listeners=PLAINTEXT://HOST:PORT (default 127.0.0.1:9092)")
	configFile := fs.String("config", "", "Kafka-style properties file")
	var sets multiFlag
	fs.Var(&sets, "set", "key=value config override (repeatable; wins over the file and the environment)")
	envConfig := fs.Bool("env-config", true, "read KAFKA_* environment variables as keys, as Apache Kafka's container image does (KAFKA_LOG_RETENTION_MS is log.retention.ms; __ is _, ___ is -), over the file and under --set; --env-config=false ignores them")
	printConfig := fs.Bool("print-config", false, "print every key's effective value and source (default, file, env, --set) and exit without opening anything")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (pprof) of the whole run to this file at shutdown")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // the flag set printed the usage
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q (settings go in --set key=value)", fs.Arg(0))
	}
	src := configSources{file: *configFile, sets: sets, dataDir: *dataDir, listen: *listenAddr}
	if *envConfig {
		src.env = os.Environ()
	}
	cfg, err := loadBrokerConfig(src)
	if err != nil {
		return err
	}
	if *printConfig {
		return cfg.printConfig(os.Stdout)
	}
	plan, err := cfg.plan()
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	logs, err := newLogging(cfg, os.Stderr)
	if err != nil {
		return err
	}
	logger := logs.Component("server")
	v := version.Get()
	logger.Info("rill starting", "version", v.Version, "commit", v.Commit, "go", v.GoVersion, "platform", v.Platform, "pid", os.Getpid())
	for _, w := range cfg.settings.Warnings() {
		logger.Warn(w)
	}
	// From here on SIGTERM and SIGINT mean a clean shutdown, even one that
	// arrives while the broker is still starting.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	// The Kafka listeners are bound before the data directory is touched:
	// a port in use fails now, not after every partition was recovered.
	// The servers take the sockets over; closeBound closes the rest.
	bound, closeBound, err := bindListeners(plan.listeners)
	if err != nil {
		return err
	}
	defer closeBound()
	// The admin listener too; it answers /health/live while the logs
	// recover (admin.go). Log levels change at run time through it
	// (docs/logging.md).
	adm, err := startAdmin(cfg, logs.Component("admin"))
	if err != nil {
		return err
	}
	defer adm.stop()
	adm.Handle("/v1/loggers", logs.Handler())
	adm.Handle("/v1/loggers/", logs.Handler())
	dir := plan.dir
	ec := plan.engine
	// The data directory is this process's alone (dirlock): lock it before
	// the catalog, the engine or the controller's __cluster_metadata log
	// touch anything in it. A second broker on it exits here, naming the
	// holder's pid. The lock lasts until this function returns, after the
	// engine's Close wrote the clean-shutdown marker.
	lock, err := dirlock.Acquire(vfs.Default, dir)
	if err != nil {
		return err
	}
	defer lock.Close()
	ec.Lock = lock
	// The local record of the topics whose logs are here (their ids and
	// configs, for recovery before the metadata log is replayed).
	local, err := metadata.Open(vfs.Default, dir)
	if err != nil {
		return err
	}
	// Whose data is this? Another node's or cluster's logs would be
	// deleted as unassigned: refuse before opening them.
	if err := checkDataIdentity(dir, identityFor(plan.nodeID, plan.voters), len(local.List()) > 0); err != nil {
		return err
	}
	ec.Logger, ec.RecoveryLogger = logs.Component("engine"), logs.Component("log")
	defaults := ec.Log
	ec.LogConfigFor = func(tp kafka.TopicPartition) log.Config {
		if t, ok := local.Get(tp.Topic); ok {
			return metadata.LogConfig(defaults, t)
		}
		return defaults
	}
	eng, err := engine.Open(ec)
	if err != nil {
		return err
	}
	ec.Logger.Info("storage engine open", "data", dir, "partitions", len(eng.Partitions()), "io_engine", eng.IOEngine(),
		"clean_shutdown_before", eng.WasCleanShutdown())
	srv, broker, err := startServer(plan, bound, eng, cfg, logs)
	if err != nil {
		eng.Close()
		return err
	}
	stopController, err := startRuntime(cfg, plan.listeners, dir, eng, local, broker, logs)
	if err != nil {
		srv.Close()
		broker.Close()
		eng.Close()
		return err
	}
	if err := adm.attach(eng, broker, srv); err != nil {
		stopController()
		srv.Close()
		broker.Close()
		eng.Close()
		return err
	}
	s := <-sig
	logger.Info("shutting down", "signal", s.String())
	adm.stop()
	stopController()
	srv.Close()
	broker.Close()
	if err := eng.Close(); err != nil {
		return fmt.Errorf("closing storage: %w", err)
	}
	logger.Info("clean shutdown")
	return nil
}
