//go:build cluster

package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/kamflow/kamflow/db/dbtest"
	"github.com/kamflow/kamflow/engine"
	"github.com/kamflow/kamflow/internal/tlstest"
)

// The cluster test runs the official Temporal server as a process of its own, built from
// go.temporal.io/server at the version go.mod pins (`make e2e-cluster` builds cmd/server and the
// schema tool cmd/tools/sql once into ~/.cache/kamflow/temporal-<version>), on PostgreSQL
// persistence and visibility: the schema tool sets up both schemas in databases of the test's
// PostgreSQL cluster (db/dbtest), and the server's configuration is the module's
// config/development-postgres12.yaml with the test's ports, databases and user, and with TLS on
// the frontend when asked.
//
// Environment:
//
//	KAMFLOW_TEMPORAL_BIN        where the server and sql binaries are (default
//	                            ~/.cache/kamflow/temporal-<version>)
//	KAMFLOW_REQUIRE_CLUSTER=1   fail, rather than skip, when they or PostgreSQL are missing (CI)

// clusterNamespace is the namespace the test registers and kamflow runs in.
const clusterNamespace = "kamflow"

// needCluster skips the test, or fails it with KAMFLOW_REQUIRE_CLUSTER=1, for want of what it
// needs.
func needCluster(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("KAMFLOW_REQUIRE_CLUSTER") == "1" {
		t.Fatalf("the cluster test is required (KAMFLOW_REQUIRE_CLUSTER=1): %s", msg)
	}
	t.Skip(msg)
}

// temporalVersion is the version of go.temporal.io/server this binary was built with: the one
// go.mod pins.
func temporalVersion(t *testing.T) string {
	t.Helper()
	bi, ok := debug.ReadBuildInfo()
	if ok {
		for _, m := range bi.Deps {
			if m.Path == "go.temporal.io/server" {
				if m.Replace != nil {
					return m.Replace.Version
				}
				return m.Version
			}
		}
	}
	t.Fatal("go.temporal.io/server is not in the test binary's build info")
	return ""
}

// temporalFiles are what the cluster is made from: the binaries, and the module's schema and
// configuration files.
type temporalFiles struct {
	version, server, sqlTool, module string
}

func findTemporal(t *testing.T) temporalFiles {
	t.Helper()
	f := temporalFiles{version: temporalVersion(t)}
	dir := os.Getenv("KAMFLOW_TEMPORAL_BIN")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			needCluster(t, "no home directory for the Temporal binaries' cache: %v", err)
		}
		dir = filepath.Join(home, ".cache", "kamflow", "temporal-"+f.version)
	}
	f.server, f.sqlTool = filepath.Join(dir, "server"), filepath.Join(dir, "sql")
	for _, bin := range []string{f.server, f.sqlTool} {
		out, err := exec.Command(bin, "--version").CombinedOutput()
		if err != nil {
			needCluster(t, "the Temporal binary %s: %v %s (make e2e-cluster builds it)", bin, err, out)
		}
		if !strings.Contains(string(out), strings.TrimPrefix(f.version, "v")) {
			t.Fatalf("%s is %s, want %s, the version go.mod pins: remove it for make e2e-cluster to build it again", bin, strings.TrimSpace(string(out)), f.version)
		}
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/server").Output()
	if err != nil {
		needCluster(t, "go list -m go.temporal.io/server: %v", err)
	}
	f.module = strings.TrimSpace(string(out))
	return f
}

// temporalCluster is a running Temporal server.
type temporalCluster struct {
	t       *testing.T
	proc    *proc
	addr    string            // the frontend's host:port
	conn    engine.Connection // how to reach it
	connEnv []string          // the same, for a kamflow process
	tls     *tlstest.Files    // its certificates, with TLS on
	started time.Duration     // from the schema set-up to the namespace usable
	client  client.Client     // the test's own, on the namespace
	cfgFile string            // its configuration
}

// clusterServerName is the name the frontend's certificate is for: kamflow connects by address
// and checks the certificate against this name (TEMPORAL_TLS_SERVER_NAME).
const clusterServerName = "temporal.kamflow.test"

// startTemporal sets up the schemas and starts the server, with TLS on its frontend (mutual:
// client certificates required) when withTLS; it registers the namespace and returns once the
// namespace can be used.
func startTemporal(t *testing.T, f temporalFiles, withTLS bool) *temporalCluster {
	t.Helper()
	t0 := time.Now()
	c := &temporalCluster{t: t}
	dir := t.TempDir()
	store, visibility := pgDatabase(t, dbtest.PostgresURL(t)), pgDatabase(t, dbtest.PostgresURL(t))
	// The schemas are set up by deploy/temporal/setup-postgres.sh, as compose does, so that the
	// script is tested.
	setup := exec.Command("sh", filepath.Join(repoRoot, "deploy", "temporal", "setup-postgres.sh"))
	setup.Env = append(os.Environ(), "SQL_HOST="+store.host, "SQL_PORT="+store.port, "SQL_USER="+store.user,
		"TEMPORAL_DB="+store.name, "TEMPORAL_VISIBILITY_DB="+visibility.name,
		"TEMPORAL_SQL_TOOL="+f.sqlTool, "TEMPORAL_SCHEMA_DIR="+filepath.Join(f.module, "schema", "postgresql", "v12"))
	if store.host != visibility.host || store.port != visibility.port || store.user != visibility.user {
		t.Fatalf("the two databases are on different servers: %+v %+v", store, visibility)
	}
	if out, err := setup.CombinedOutput(); err != nil {
		t.Fatalf("deploy/temporal/setup-postgres.sh: %v\n%s", err, out)
	}

	ports := freePorts(t, 10)
	c.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	template, err := os.ReadFile(filepath.Join(f.module, "config", "development-postgres12.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dynamic, err := os.ReadFile(filepath.Join(f.module, "config", "dynamicconfig", "development-sql.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dynamicFile := filepath.Join(dir, "dynamicconfig.yaml")
	if err := os.WriteFile(dynamicFile, dynamic, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := string(template)
	set := func(old, new string, times int) {
		t.Helper()
		if n := strings.Count(cfg, old); n != times {
			t.Fatalf("%s holds %q %d times, want %d: has the template changed?", "development-postgres12.yaml", old, n, times)
		}
		cfg = strings.ReplaceAll(cfg, old, new)
	}
	q := strconv.Quote
	set(`level: info`, `level: warn`, 1)
	set(`connectAddr: "127.0.0.1:5432"`, `connectAddr: `+q(net.JoinHostPort(store.host, store.port)), 2)
	set(`databaseName: "temporal"`, `databaseName: `+q(store.name), 1)
	set(`databaseName: "temporal_visibility"`, `databaseName: `+q(visibility.name), 1)
	set(`user: "temporal"`, `user: `+q(store.user), 2)
	set(`password: "temporal"`, `password: ""`, 2)
	// Four services in one process, each with its pools, beside four kamflow processes: fewer
	// connections than the template's 20 a pool keep within the cluster's max_connections.
	set(`maxConns: 20`, `maxConns: 10`, 1)
	set(`maxIdleConns: 20`, `maxIdleConns: 10`, 1)
	set(`port: 7936`, `port: 0`, 1) // no pprof
	set(`listenAddress: "127.0.0.1:8000"`, `listenAddress: "127.0.0.1:`+strconv.Itoa(ports[1])+`"`, 1)
	// The frontend's gRPC port, then its HTTP port and the services' gRPC and membership ports.
	set("grpcPort: 7233\n", "grpcPort: "+strconv.Itoa(ports[0])+"\n", 1)
	for i, port := range []string{"7243", "7234", "7235", "7239", "6933", "6934", "6935", "6939"} {
		set("Port: "+port+"\n", "Port: "+strconv.Itoa(ports[2+i])+"\n", 1)
	}
	set(`rpcAddress: "localhost:7233"`, `rpcAddress: `+q(c.addr), 1)
	set(`filepath: "config/dynamicconfig/development-sql.yaml"`, `filepath: `+q(dynamicFile), 1)
	set(`file:///tmp/temporal_archival/development`, "file://"+filepath.Join(dir, "archival"), 1)
	set(`file:///tmp/temporal_vis_archival/development`, "file://"+filepath.Join(dir, "vis_archival"), 1)
	if withTLS {
		files := tlstest.Write(t, dir, clusterServerName)
		c.tls = &files
		// The frontend requires a client certificate signed by the test's CA; the server's own
		// system workers connect to it with the client certificate too.
		set("global:\n", fmt.Sprintf(`global:
  tls:
    frontend:
      server:
        certFile: %[1]s
        keyFile: %[2]s
        requireClientAuth: true
        clientCaFiles: [%[3]s]
      client:
        serverName: %[6]s
        rootCaFiles: [%[3]s]
    systemWorker:
      certFile: %[4]s
      keyFile: %[5]s
      client:
        serverName: %[6]s
        rootCaFiles: [%[3]s]
`, q(files.ServerCert), q(files.ServerKey), q(files.CA), q(files.ClientCert), q(files.ClientKey), q(clusterServerName)), 1)
		c.conn = engine.Connection{CAFile: files.CA, CertFile: files.ClientCert, KeyFile: files.ClientKey, ServerName: clusterServerName}
		c.connEnv = []string{"TEMPORAL_TLS_CA=" + files.CA, "TEMPORAL_TLS_CERT=" + files.ClientCert,
			"TEMPORAL_TLS_KEY=" + files.ClientKey, "TEMPORAL_TLS_SERVER_NAME=" + clusterServerName}
	}
	c.cfgFile = filepath.Join(dir, "temporal.yaml")
	if err := os.WriteFile(c.cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	c.start(f)

	// The namespace, once the frontend answers.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	c.client = c.dial(ctx, clusterNamespace)
	t.Cleanup(c.client.Close)
	nc, err := client.NewNamespaceClient(c.options(clusterNamespace))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	poll(t, "the namespace registered", 2*time.Minute, 500*time.Millisecond, func() error {
		err := nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: clusterNamespace,
			WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour), Description: "kamflow's cluster test"})
		var exists *serviceerror.NamespaceAlreadyExists
		if errors.As(err, &exists) {
			return nil
		}
		return err
	})
	// Every service sees it once its namespace cache is refreshed: the operator service's
	// answer for it says the frontend does.
	poll(t, "the namespace usable", 2*time.Minute, 500*time.Millisecond, func() error {
		_, err := c.client.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: clusterNamespace})
		return err
	})
	c.started = time.Since(t0)
	t.Logf("Temporal %s up on PostgreSQL (persistence %s, visibility %s) at %s, TLS %v, namespace %s registered, in %s",
		f.version, store.name, visibility.name, c.addr, withTLS, clusterNamespace, fmtDuration(c.started))
	return c
}

// start starts the server process.
func (c *temporalCluster) start(f temporalFiles) {
	c.t.Helper()
	cmd := exec.Command(f.server, "--config-file", c.cfgFile, "--allow-no-auth", "start")
	cmd.Dir = filepath.Dir(c.cfgFile)
	c.proc = startCmd(c.t, "temporal server", cmd)
}

func (c *temporalCluster) options(namespace string) client.Options {
	o := client.Options{HostPort: c.addr, Namespace: namespace, Logger: tlog.NewStructuredLogger(quietLogger())}
	if err := c.conn.Apply(&o); err != nil {
		c.t.Fatal(err)
	}
	return o
}

// dial connects to the frontend, trying until it answers.
func (c *temporalCluster) dial(ctx context.Context, namespace string) client.Client {
	c.t.Helper()
	var tc client.Client
	poll(c.t, "the Temporal frontend answering", 2*time.Minute, 500*time.Millisecond, func() error {
		select {
		case <-c.proc.exited:
			c.t.Fatalf("the Temporal server exited: %s", c.proc.state)
		default:
		}
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var err error
		tc, err = client.DialContext(dctx, c.options(namespace))
		return err
	})
	return tc
}

// pgDB is a database of the test's PostgreSQL cluster, as the schema tool and the server's
// configuration name it.
type pgDB struct{ host, port, user, name string }

func pgDatabase(t *testing.T, raw string) pgDB {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	return pgDB{host: host, port: port, user: u.User.Username(), name: strings.TrimPrefix(u.Path, "/")}
}

// freePorts finds n distinct free ports of 127.0.0.1, held until all are found. They are below
// 32768, out of the kernel's range for ephemeral ports (so that no outgoing connection takes one
// before the server binds it) and within the smallint in which Temporal's SQL persistence stores
// the services' membership ports.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	for port := 20000 + rand.IntN(10000); len(out) < n && port < 32768; port++ {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		defer ln.Close()
		out = append(out, port)
	}
	if len(out) < n {
		t.Fatalf("%d free ports found, want %d", len(out), n)
	}
	return out
}
