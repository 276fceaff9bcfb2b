package baotest

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/ztkit/ztkit/internal/test/testenv"
)

// startTimeout bounds how long a private server may take to answer after it starts,
// and to become active after it is unsealed.
const startTimeout = 30 * time.Second

// stopTimeout is how long Stop waits after SIGTERM before it kills the server.
const stopTimeout = 10 * time.Second

// Server is a private OpenBao server of one test: not in dev mode, its storage in files
// under the test's temporary directory, a TLS listener on a free loopback port with a
// certificate from a CA made for it. It is stopped when the test ends.
//
// Stop, Start, Seal and Unseal return errors rather than fail the test, so a test may
// call them from any goroutine (for example to restart the server while a client
// retries).
type Server struct {
	// Addr is the server's address ("https://127.0.0.1:PORT").
	Addr string
	// CACert is the path of the PEM file of the CA that signed the server's certificate.
	CACert string
	// CAPool holds that CA.
	CAPool *x509.CertPool
	// RootToken is the root token made when the server was initialised. It is a secret:
	// never print it.
	RootToken string

	tb         testing.TB
	bin        string
	configPath string
	logPath    string
	dir        string
	unsealKey  string // secret

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// ServerOption configures [StartServer].
type ServerOption interface {
	apply(*serverConfig)
}

type serverConfig struct {
	extra []string
}

type serverOptionFunc func(*serverConfig)

func (f serverOptionFunc) apply(c *serverConfig) { f(c) }

// WithConfig appends HCL to the server's configuration file, for example
// `default_lease_ttl = "10s"` or `max_lease_ttl = "1m"`.
func WithConfig(hcl string) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.extra = append(c.extra, hcl) })
}

// StartServer starts a private OpenBao server from the binary in
// testenv.BaoServerVar, initialises it with a single unseal key, unseals it and waits
// until it is active. It skips the test, or fails it under CI=true, when there is no
// binary. The server is stopped when the test ends; its files live in t.TempDir().
func StartServer(tb testing.TB, opts ...ServerOption) *Server {
	tb.Helper()
	bin := testenv.Require(tb, testenv.BaoServerVar)
	var cfg serverConfig
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}

	dir := tb.TempDir()
	ports := freePorts(tb, 2)
	port, clusterPort := ports[0], ports[1]
	tlsFiles, pool := writeTLS(tb, dir)
	storage := filepath.Join(dir, "data")
	if err := os.Mkdir(storage, 0o700); err != nil {
		tb.Fatalf("baotest: %v", err)
	}
	hcl := fmt.Sprintf(`storage "file" {
  path = %q
}

listener "tcp" {
  address         = "127.0.0.1:%d"
  cluster_address = "127.0.0.1:%d"
  tls_cert_file   = %q
  tls_key_file    = %q
}

api_addr      = "https://127.0.0.1:%d"
cluster_addr  = "https://127.0.0.1:%d"
disable_mlock = true
log_level     = "info"
`, storage, port, clusterPort, tlsFiles.cert, tlsFiles.key, port, clusterPort)
	hcl += strings.Join(cfg.extra, "\n") + "\n"
	configPath := filepath.Join(dir, "config.hcl")
	if err := os.WriteFile(configPath, []byte(hcl), 0o600); err != nil {
		tb.Fatalf("baotest: %v", err)
	}

	s := &Server{
		Addr:       "https://127.0.0.1:" + strconv.Itoa(port),
		CACert:     tlsFiles.ca,
		CAPool:     pool,
		tb:         tb,
		bin:        bin,
		configPath: configPath,
		logPath:    filepath.Join(dir, "bao.log"),
		dir:        dir,
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("baotest: %v", err)
		}
	})
	if err := s.Start(); err != nil {
		tb.Fatalf("baotest: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c := newClient(tb, s.Config(), "")
	resp, err := c.Sys().InitWithContext(ctx, &api.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		tb.Fatalf("baotest: initialise %s: %v", s.Addr, err)
	}
	if len(resp.Keys) != 1 || resp.RootToken == "" {
		tb.Fatalf("baotest: initialising %s returned %d unseal keys, want 1 and a root token", s.Addr, len(resp.Keys))
	}
	s.unsealKey, s.RootToken = resp.Keys[0], resp.RootToken
	if err := s.Unseal(); err != nil {
		tb.Fatalf("baotest: %v", err)
	}
	return s
}

// Config returns a new client configuration for the server: its address and CA, no
// token.
func (s *Server) Config() *api.Config {
	return newConfig(s.tb, s.Addr, s.CACert)
}

// Client returns a new client of the server holding its root token. Like Config, call
// it from the test's goroutine: it fails the test if the configuration cannot be made.
func (s *Server) Client() *api.Client {
	return newClient(s.tb, s.Config(), s.RootToken)
}

// Start starts the server process with its configuration and storage, and waits until
// it answers. A restarted server is sealed: call [Server.Unseal]. Start does nothing
// while the server runs.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("baotest: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(s.bin, "server", "-config="+s.configPath)
	cmd.Env = serverEnv(s.dir)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("baotest: start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c := newClient(s.tb, s.Config(), "")
	c.SetMaxRetries(0)
	for {
		if _, err := c.Sys().HealthWithContext(ctx); err == nil {
			return nil
		}
		select {
		case <-done:
			s.cmd, s.done = nil, nil
			return fmt.Errorf("baotest: OpenBao exited as it started: %s", s.logTail())
		case <-ctx.Done():
			s.stopLocked()
			return fmt.Errorf("baotest: OpenBao did not answer on %s within %v: %s", s.Addr, startTimeout, s.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop stops the server process (SIGTERM, SIGKILL after 10 s) and waits until it has
// exited. Its storage stays: [Server.Start] brings it back, sealed. Stop does nothing
// when the server is not running.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopLocked()
}

func (s *Server) stopLocked() error {
	if s.cmd == nil {
		return nil
	}
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("baotest: stop OpenBao: %w", err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = cmd.Process.Kill()
	<-done
	return nil
}

// Seal seals the server.
func (s *Server) Seal() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.Client().Sys().SealWithContext(ctx); err != nil {
		return fmt.Errorf("baotest: seal %s: %w", s.Addr, err)
	}
	return nil
}

// Unseal unseals the server with its unseal key and waits until it is active, its
// mounts and leases loaded.
func (s *Server) Unseal() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c := newClient(s.tb, s.Config(), "")
	c.SetMaxRetries(0)
	if _, err := c.Sys().UnsealWithContext(ctx, s.unsealKey); err != nil {
		// The error is the server's answer, which never holds the key.
		return fmt.Errorf("baotest: unseal %s: %w", s.Addr, err)
	}
	for {
		h, err := c.Sys().HealthWithContext(ctx)
		if err == nil && !h.Sealed && !h.Standby {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("baotest: %s not active within %v after unseal (last error: %v)", s.Addr, startTimeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// logTail returns the end of the server's log, for errors.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return "log:\n" + string(b)
}

// serverEnv is the environment of a private server: the test's, without the VAULT_ and
// BAO_ variables of a developer's shell, with HOME in the server's directory.
func serverEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VAULT_") || strings.HasPrefix(kv, "BAO_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home)
}

// freePorts returns n distinct TCP ports on 127.0.0.1 that nothing listened on a moment
// ago.
func freePorts(tb testing.TB, n int) []int {
	tb.Helper()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("baotest: free port: %v", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}
