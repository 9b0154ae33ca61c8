package main

import (
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
	"github.com/rillmq/rill/replication/metadata"
)

type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "data directory (log.dirs; default ./data)")
	listenAddr := fs.String("listen", "", "listen address HOST:PORT, short for listeners=PLAINTEXT://HOST:PORT (default 127.0.0.1:9092)")
	configFile := fs.String("config", "", "Kafka-style properties file")
	var sets multiFlag
	fs.Var(&sets, "set", "key=value config override (repeatable)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (pprof) of the whole run to this file at shutdown")
	if err := fs.Parse(args); err != nil {
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
	cfg := newBrokerConfig()
	if *configFile != "" {
		if err := cfg.loadProperties(*configFile); err != nil {
			return err
		}
	}
	for _, kv := range sets {
		if err := cfg.set(kv); err != nil {
			return err
		}
	}
	dir := *dataDir
	if dir == "" {
		dir = cfg.get("log.dirs", cfg.get("log.dir", "./data"))
	}
	lc, err := cfg.listenerConfig(*listenAddr)
	if err != nil {
		return err
	}
	logs, err := newLogging(cfg, os.Stderr)
	if err != nil {
		return err
	}
	logger := logs.Component("server")
	// From here on SIGTERM and SIGINT mean a clean shutdown, even one that
	// arrives while the broker is still starting.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	ec, err := cfg.engineConfig(dir)
	if err != nil {
		return err
	}
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
	nodeID, err := cfg.int64("node.id", 1)
	if err != nil {
		return err
	}
	var voters map[uint64]string
	if v := cfg.get("controller.quorum.voters", ""); v != "" {
		if voters, err = parseVoters(v); err != nil {
			return err
		}
	}
	if err := checkDataIdentity(dir, identityFor(nodeID, voters), len(local.List()) > 0); err != nil {
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
	adm, err := startAdmin(cfg, logs.Component("admin")) // admin.go: live while the logs recover
	if err != nil {
		return err
	}
	defer adm.stop()
	// Log levels change at run time through the admin API
	// (docs/logging.md).
	adm.Handle("/v1/loggers", logs.Handler())
	adm.Handle("/v1/loggers/", logs.Handler())
	eng, err := engine.Open(ec)
	if err != nil {
		return err
	}
	ec.Logger.Info("storage engine open", "data", dir, "partitions", len(eng.Partitions()), "io_engine", eng.IOEngine(),
		"clean_shutdown_before", eng.WasCleanShutdown())
	srv, broker, err := startServer(lc, eng, cfg, logs)
	if err != nil {
		eng.Close()
		return err
	}
	stopController, err := startRuntime(cfg, lc, dir, eng, local, broker, logs)
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
