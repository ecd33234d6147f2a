package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for the admin connection
)

// server is the PostgreSQL server on which the tests create their databases.
type server struct {
	admin *sql.DB // on the server's maintenance database; runs CREATE DATABASE
	url   url.URL // of admin; a test database's URL differs in its path only
	ext   bool    // KAMFLOW_TEST_DATABASE_URL: not ours to stop, so drop what we create on it
	dir   string  // a cluster we started: its data directory, socket and log live here
	proc  *os.Process
	exit  chan struct{} // closed when proc has exited
}

var (
	mu  sync.Mutex
	srv *server
	// srvErr is why no server could be had. It is kept so that the other tests of the binary
	// skip (or fail) at once instead of each trying again.
	srvErr error
	dbSeq  atomic.Int64
)

// PostgresURL creates an empty database of its own for the test on the test PostgreSQL server
// and returns its URL; nothing has opened it yet. It skips the test when no server can be had, or
// fails it when KAMFLOW_REQUIRE_POSTGRES=1.
func PostgresURL(t testing.TB) string {
	t.Helper()
	s, err := getServer()
	if err != nil {
		if os.Getenv("KAMFLOW_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("dbtest: PostgreSQL is required (KAMFLOW_REQUIRE_POSTGRES=1) but unavailable: %v", err)
		}
		t.Skipf("dbtest: PostgreSQL unavailable: %v", err)
	}
	name := dbName(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("dbtest: create database %s: %v", name, err)
	}
	if s.ext {
		// A cluster of our own is deleted whole at the end; a shared server is not.
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := s.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				t.Logf("dbtest: drop database %s: %v", name, err)
			}
		})
	}
	u := s.url
	u.Path = "/" + name
	return u.String()
}

// Stop stops the PostgreSQL cluster this test binary started, if any, and deletes its files.
// Main calls it; a later Postgres call would start a new cluster.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if srv != nil {
		srv.stop()
	}
	srv, srvErr = nil, nil
}

// getServer returns the test server, connecting to or starting it on first use.
func getServer() (*server, error) {
	mu.Lock()
	defer mu.Unlock()
	if srv == nil && srvErr == nil {
		if u := os.Getenv("KAMFLOW_TEST_DATABASE_URL"); u != "" {
			srv, srvErr = connect(u)
		} else {
			srv, srvErr = startCluster()
		}
	}
	return srv, srvErr
}

// dbName makes a database name from the test's name: unique on a shared server (the process id
// tells apart test binaries running at once), and readable when a test leaves one behind.
func dbName(t testing.TB) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kt_%d_%d_", os.Getpid(), dbSeq.Add(1))
	for _, r := range strings.ToLower(t.Name()) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	name := b.String()
	if len(name) > 63 { // PostgreSQL's limit on identifiers
		name = name[:63]
	}
	return name
}

// connect uses the server at KAMFLOW_TEST_DATABASE_URL.
func connect(raw string) (*server, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("KAMFLOW_TEST_DATABASE_URL: %w", err)
	}
	admin, err := sql.Open("pgx", raw)
	if err != nil {
		return nil, fmt.Errorf("KAMFLOW_TEST_DATABASE_URL %s: %w", u.Redacted(), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		return nil, fmt.Errorf("KAMFLOW_TEST_DATABASE_URL %s: %w", u.Redacted(), err)
	}
	return &server{admin: admin, url: *u, ext: true}, nil
}

var errPortTaken = errors.New("port taken")

// startCluster creates a PostgreSQL cluster in a temporary directory and starts it on a free port
// of 127.0.0.1, tuned for speed over durability (fsync off): it lives as long as the test binary.
func startCluster() (*server, error) {
	bin := os.Getenv("KAMFLOW_PG_BIN")
	if bin == "" {
		bin = "/usr/lib/postgresql/15/bin"
	}
	for _, tool := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
			return nil, fmt.Errorf("no PostgreSQL server in %s (install postgresql-15, or set KAMFLOW_PG_BIN or KAMFLOW_TEST_DATABASE_URL): %w", bin, err)
		}
	}
	removeStale()
	dir, err := os.MkdirTemp("", clusterPrefix)
	if err != nil {
		return nil, err
	}
	s := &server{dir: dir}
	ok := false
	defer func() {
		if !ok {
			s.stop()
		}
	}()
	cred, err := postgresUser(dir)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "--pgdata", data, "--username", "postgres",
		"--auth", "trust", "--encoding", "UTF8", "--locale", "C", "--no-sync", "--no-instructions")
	initdb.Dir = dir // the postgres user may not be allowed into the caller's directory
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb in %s: %v: %s", dir, err, strings.TrimSpace(string(out)))
	}
	for attempt := 1; ; attempt++ {
		err := s.start(bin, data, cred)
		if err == nil {
			break
		}
		// The free port found may be taken by someone else before postgres binds it.
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			return nil, err
		}
	}
	ok = true
	return s, nil
}

const clusterPrefix = "kamflow-pg-"

// removeStale deletes the clusters of test binaries that died without calling Stop (postgres
// itself stops with them, see start). A cluster whose server runs has a postmaster.pid; the age
// spares a cluster that another binary is creating right now.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), clusterPrefix+"*"))
	for _, dir := range dirs {
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < 10*time.Minute {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "data", "postmaster.pid")); errors.Is(err, os.ErrNotExist) {
			os.RemoveAll(dir)
		}
	}
}

// postgresUser returns the credentials to run PostgreSQL with: none (our own) normally, but the
// system user postgres when we are root, since PostgreSQL refuses to run as root. It hands dir to
// that user.
func postgresUser(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, which PostgreSQL refuses, and there is no user postgres to run it as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user postgres: %w", err)
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// start runs postgres on a free port and waits until it accepts connections.
//
// It runs the postgres binary itself rather than pg_ctl, so that the server is our child and
// gets SIGQUIT (immediate shutdown) when the test binary dies without calling Stop — killed by
// go test's timeout, say — instead of running on forever.
func (s *server) start(bin, data string, cred *syscall.Credential) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	logPath := filepath.Join(s.dir, "postgres.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port),
		"-h", "127.0.0.1", "-k", s.dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=64MB")
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	started := make(chan error, 1)
	exit := make(chan struct{})
	go func() {
		// Linux sends Pdeathsig when the thread that started the child exits, not the process.
		// Keeping this goroutine locked to its thread until postgres exits keeps that thread alive
		// as long as the test binary.
		runtime.LockOSThread()
		defer logf.Close()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
		close(exit)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.proc, s.exit = cmd.Process, exit

	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path: "/postgres", RawQuery: "sslmode=disable"}
	admin, err := sql.Open("pgx", u.String())
	if err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		select {
		case <-exit:
			admin.Close()
			s.proc, s.exit = nil, nil
			log, _ := os.ReadFile(logPath)
			if strings.Contains(string(log), "could not bind") || strings.Contains(string(log), "already in use") {
				return fmt.Errorf("%w: %s", errPortTaken, tail(log))
			}
			return fmt.Errorf("postgres exited at start: %s", tail(log))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := admin.PingContext(ctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			admin.Close()
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres did not accept connections within a minute: %v; log: %s", err, tail(log))
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.admin, s.url = admin, u
	return nil
}

// stop stops the server if it is ours and deletes its directory.
func (s *server) stop() {
	if s.admin != nil {
		s.admin.Close()
	}
	if s.proc != nil {
		s.proc.Signal(syscall.SIGINT) // fast shutdown: disconnects the sessions left and exits
		select {
		case <-s.exit:
		case <-time.After(30 * time.Second):
			s.proc.Kill()
			<-s.exit
		}
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the end of a log, enough to show why postgres failed.
func tail(log []byte) string {
	s := strings.TrimSpace(string(log))
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return s
}

// redact hides a password in a database URL.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	return raw
}
