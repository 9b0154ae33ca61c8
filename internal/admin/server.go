// Package admin is the broker's admin HTTP listener (admin.listeners,
// 127.0.0.1:9644 by default, as Redpanda's admin port): Prometheus
// metrics, liveness and readiness probes, the cluster status, and any
// endpoint another part of the broker mounts with Handle.
//
// Endpoints:
//
//	GET /metrics       Prometheus text exposition of Config.Gatherer
//	GET /health/live   200 while the process serves HTTP
//	GET /health/ready  200 when Config.Ready reports ready, else 503 with
//	                   {"ready":false,"reason":"..."}
//	GET /v1/cluster    Config.Cluster's value as JSON
//
// Contract: New binds every listener before it returns (a bind failure is
// the caller's start-up error) and serves until Close. Handle may be
// called before or after New returns, before Close. Handlers run on
// net/http's goroutines: Ready and Cluster must be safe for concurrent
// use and must not block on the broker's locks across I/O.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config configures the admin server.
type Config struct {
	// Listeners are host:port addresses to bind; empty strings are
	// skipped.
	Listeners []string
	// Gatherer is what /metrics exposes (nil: no /metrics).
	Gatherer prometheus.Gatherer
	// Ready reports whether the broker is ready for traffic, and if not,
	// why (nil: always ready).
	Ready func() (bool, string)
	// Cluster returns the /v1/cluster document (nil: no /v1/cluster).
	Cluster func() any
	// Logger logs serve errors (nil: discarded).
	Logger *slog.Logger
}

// Server is a running admin listener.
type Server struct {
	mux   *http.ServeMux
	http  *http.Server
	lns   []net.Listener
	wg    sync.WaitGroup
	close sync.Once
}

// ParseListeners splits admin.listeners ("host:port,host:port"); an empty
// value means no listener.
func ParseListeners(v string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(v, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("admin.listeners: %q is not host:port: %w", a, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// New binds cfg.Listeners and serves them. With no listeners it returns a
// Server that serves nothing (Handle and Close still work).
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{mux: http.NewServeMux()}
	s.http = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	s.routes(cfg)
	for _, a := range cfg.Listeners {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range s.lns {
				l.Close()
			}
			return nil, fmt.Errorf("admin listener %s: %w", a, err)
		}
		s.lns = append(s.lns, ln)
	}
	for _, ln := range s.lns {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				cfg.Logger.Error("admin listener stopped serving", "addr", ln.Addr().String(), "err", err)
			}
		}()
	}
	return s, nil
}

func (s *Server) routes(cfg Config) {
	if cfg.Gatherer != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	}
	s.mux.HandleFunc("GET /health/live", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"live": true})
	})
	s.mux.HandleFunc("GET /health/ready", func(w http.ResponseWriter, _ *http.Request) {
		ready, reason := true, ""
		if cfg.Ready != nil {
			ready, reason = cfg.Ready()
		}
		if !ready {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": reason})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ready": true})
	})
	if cfg.Cluster != nil {
		s.mux.HandleFunc("GET /v1/cluster", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, cfg.Cluster())
		})
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // a client gone mid-answer is not the server's error
}

// Handle mounts h at pattern (net/http.ServeMux patterns, e.g.
// "GET /v1/loggers"). It panics on a pattern that conflicts with one
// already mounted, as ServeMux does: a programming error.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Addrs are the bound addresses (for tests binding port 0).
func (s *Server) Addrs() []net.Addr {
	out := make([]net.Addr, len(s.lns))
	for i, ln := range s.lns {
		out[i] = ln.Addr()
	}
	return out
}

// Close stops the listeners and waits up to 5 s for requests in flight
// (a scrape, a probe) before closing their connections.
func (s *Server) Close() error {
	var err error
	s.close.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err = s.http.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
			err = s.http.Close()
		}
		for _, ln := range s.lns {
			ln.Close() // never served when Serve had not started yet
		}
		s.wg.Wait()
	})
	return err
}
