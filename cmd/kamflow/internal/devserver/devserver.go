// Package devserver runs an embedded, single-process Temporal server for the
// `kamflow dev` command.
//
// Why this exists: the Temporal CLI ships a dev server (`temporal server
// start-dev`), but its code lives in the CLI's internal packages and cannot be
// imported. The server module's own test helper (temporaltest) only offers an
// in-memory database. `kamflow dev` wants a server that lives inside the kamflow
// process and keeps its state on disk, so that workflows started during one dev
// session are still there after a restart. This package builds that on top of
// go.temporal.io/server/temporal:
//
//   - persistence and visibility are stored in one SQLite file
//     (<DataDir>/temporal.db); the schema is created on first start and reused
//     afterwards;
//   - the namespace is created on first start and reused afterwards;
//   - custom search attributes are registered idempotently on every start;
//   - all internal services (history, matching, worker) run in-process on free
//     loopback ports with static membership (no ringpop, no membership ports),
//     metrics and pprof are disabled, so several servers can run in one process.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const (
	// dbFileName is the SQLite file inside Options.DataDir.
	dbFileName = "temporal.db"
	// clusterName is the name of the single local cluster.
	clusterName = "active"
	// startTimeout bounds Start (server start-up plus readiness checks) when the
	// caller's context has no earlier deadline.
	startTimeout = time.Minute
	// namespaceRefreshInterval is how often the services reload namespaces from
	// the database. Search attributes added to an existing namespace become
	// usable by all services only after one refresh.
	namespaceRefreshInterval = time.Second
)

// Options configures a dev server. Only DataDir is required.
type Options struct {
	// DataDir is the directory holding the SQLite file (temporal.db). It is
	// created if missing. Starting again on the same DataDir resumes the previous
	// state. Required.
	DataDir string
	// IP is the address the frontend listens on. Default 127.0.0.1. Internal
	// services always listen on 127.0.0.1.
	IP string
	// Port is the frontend gRPC port; 0 picks a free one.
	Port int
	// Namespace is created on first start if missing, with the usual dev
	// retention of 24h for closed workflows. Default "default".
	Namespace string
	// SearchAttributes are custom search attributes registered in Namespace on
	// every start (already registered ones are left alone; a name registered
	// with a different type is an error).
	SearchAttributes map[string]enums.IndexedValueType
	// Logger receives the server's logs. Default: WARN and above to stderr
	// (the Temporal server is very chatty at INFO). Nothing is logged once Stop
	// has begun: shutdown only produces noise about cancelled requests.
	Logger *slog.Logger
}

// Server is a running dev server. Stop it with Stop.
type Server struct {
	srv       temporal.Server
	logger    slogLogger
	conn      *grpc.ClientConn
	hostPort  string
	namespace string
	dbPath    string

	stopOnce sync.Once
	stopErr  error
}

// activeDBs guards against two servers in one process sharing a database file:
// the SQLite plugin shares connections per file, and two servers writing the
// same history shard would corrupt each other's state.
var (
	activeMu  sync.Mutex
	activeDBs = map[string]bool{}
)

// portMu serializes port picking and binding between servers of this process.
var portMu sync.Mutex

// Start starts a server and returns once the frontend accepts connections and
// the namespace exists (and search attributes are registered). It fails, rather
// than hangs, if the port is taken or the server is not ready in time.
func Start(ctx context.Context, opts Options) (_ *Server, retErr error) {
	if opts.DataDir == "" {
		return nil, errors.New("devserver: DataDir is required")
	}
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("devserver: invalid port %d", opts.Port)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()

	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("devserver: data dir: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("devserver: creating data dir: %w", err)
	}
	dbPath := filepath.Join(dataDir, dbFileName)
	if err := claimDB(dbPath); err != nil {
		return nil, err
	}
	releaseOnError := true
	defer func() {
		if retErr != nil && releaseOnError {
			releaseDB(dbPath)
		}
	}()

	// Persistence: schema on first start, namespace if missing.
	sqlCfg := sqlConfig(dbPath)
	if err := ensureSchema(dbPath); err != nil {
		return nil, err
	}
	nsCfg, err := sqliteschema.NewNamespaceConfig(clusterName, opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("devserver: namespace %q: %w", opts.Namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(sqlCfg, nsCfg); err != nil { // no-op if it exists
		return nil, fmt.Errorf("devserver: creating namespace %q in %s: %w", opts.Namespace, dbPath, err)
	}

	logger := newLogger(opts.Logger)

	// Between picking free ports and binding them nobody else in this process
	// may pick ports, or two servers started concurrently can get the same one.
	portMu.Lock()
	srv, frontendAddr, err := newServer(opts, sqlCfg, logger)
	if err != nil {
		portMu.Unlock()
		return nil, err
	}

	// temporal.Server.Start does not take a context; run it aside so a hang
	// turns into a timeout error.
	started := make(chan error, 1)
	go func() { started <- catchFatal(srv.Start) }()
	select {
	case err := <-started:
		portMu.Unlock()
		if err != nil {
			logger.mute()
			_ = catchFatal(srv.Stop)
			return nil, fmt.Errorf("devserver: starting server: %w", err)
		}
	case <-ctx.Done():
		portMu.Unlock()
		// Keep the database claimed until the late start has been undone.
		releaseOnError = false
		go func() {
			if <-started == nil {
				logger.mute()
				_ = catchFatal(srv.Stop)
			}
			releaseDB(dbPath)
		}()
		return nil, fmt.Errorf("devserver: server did not start: %w", ctx.Err())
	}

	s := &Server{srv: srv, logger: logger, hostPort: frontendAddr, namespace: opts.Namespace, dbPath: dbPath}
	defer func() {
		if retErr != nil {
			_ = s.stop()
		}
	}()
	s.conn, err = grpc.NewClient(frontendAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("devserver: connecting to frontend: %w", err)
	}
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	if err := s.ensureSearchAttributes(ctx, opts.SearchAttributes); err != nil {
		return nil, err
	}
	return s, nil
}

// newServer picks the ports and builds (but does not start) the server. It
// returns the frontend address clients should dial.
func newServer(opts Options, sqlCfg *config.SQL, logger slogLogger) (temporal.Server, string, error) {
	// The frontend port is checked up front: the server itself treats a failed
	// listen as fatal instead of returning an error. All ports are picked in one
	// go so that they differ.
	frontendPort := opts.Port
	if frontendPort != 0 {
		if err := checkPortFree(opts.IP, frontendPort); err != nil {
			return nil, "", fmt.Errorf("devserver: frontend port %d is not available: %w", frontendPort, err)
		}
	}
	internalPorts, err := freePorts("127.0.0.1", 3)
	if err != nil {
		return nil, "", fmt.Errorf("devserver: picking internal ports: %w", err)
	}
	if frontendPort == 0 {
		if frontendPort, err = freePort(opts.IP, internalPorts); err != nil {
			return nil, "", fmt.Errorf("devserver: picking frontend port: %w", err)
		}
	}

	frontendAddr := net.JoinHostPort(clientIP(opts.IP), strconv.Itoa(frontendPort))
	hosts := map[primitives.ServiceName]static.Hosts{
		primitives.FrontendService: static.SingleLocalHost(frontendAddr),
		primitives.HistoryService:  static.SingleLocalHost(net.JoinHostPort("127.0.0.1", strconv.Itoa(internalPorts[0]))),
		primitives.MatchingService: static.SingleLocalHost(net.JoinHostPort("127.0.0.1", strconv.Itoa(internalPorts[1]))),
		primitives.WorkerService:   static.SingleLocalHost(net.JoinHostPort("127.0.0.1", strconv.Itoa(internalPorts[2]))),
	}
	cfg := serverConfig(sqlCfg, opts.IP, frontendPort, frontendAddr, internalPorts)

	var srv temporal.Server
	if err := catchFatal(func() error {
		var err error
		srv, err = temporal.NewServer(
			temporal.WithConfig(cfg),
			temporal.ForServices(temporal.DefaultServices),
			temporal.WithStaticHosts(hosts),
			temporal.WithLogger(logger),
			temporal.WithAuthorizer(authorization.NewNoopAuthorizer()),
			temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper {
				return authorization.NewNoopClaimMapper()
			}),
			temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
				dynamicconfig.NamespaceCacheRefreshInterval.Key(): namespaceRefreshInterval,
			}),
		)
		return err
	}); err != nil {
		logger.mute() // parts of the server may be running; keep them quiet
		return nil, "", fmt.Errorf("devserver: creating server: %w", err)
	}
	return srv, frontendAddr, nil
}

// HostPort is the frontend address for SDK clients, e.g. "127.0.0.1:7233".
func (s *Server) HostPort() string { return s.hostPort }

// Namespace is the namespace created (or reused) by Start.
func (s *Server) Namespace() string { return s.namespace }

// Stop stops the server. Everything written so far is in the SQLite file.
// Calling Stop more than once is fine.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Server) stop() error {
	s.logger.mute()
	var errs []error
	if s.conn != nil {
		errs = append(errs, s.conn.Close())
	}
	errs = append(errs, catchFatal(s.srv.Stop))
	releaseDB(s.dbPath)
	return errors.Join(errs...)
}

// waitReady polls DescribeNamespace until the frontend answers it.
func (s *Server) waitReady(ctx context.Context) error {
	wf := workflowservice.NewWorkflowServiceClient(s.conn)
	var lastErr error
	for {
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := wf.DescribeNamespace(callCtx, &workflowservice.DescribeNamespaceRequest{Namespace: s.namespace})
		cancel()
		if err == nil {
			return nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("devserver: frontend %s not ready: %w (last error: %v)", s.hostPort, ctx.Err(), lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ensureSearchAttributes registers the missing search attributes. On the first
// start they already exist (they are created with the namespace); later starts
// add only new ones.
func (s *Server) ensureSearchAttributes(ctx context.Context, want map[string]enums.IndexedValueType) error {
	if len(want) == 0 {
		return nil
	}
	op := operatorservice.NewOperatorServiceClient(s.conn)
	resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.namespace})
	if err != nil {
		return fmt.Errorf("devserver: listing search attributes: %w", err)
	}
	missing := map[string]enums.IndexedValueType{}
	for name, typ := range want {
		if have, ok := resp.GetCustomAttributes()[name]; ok {
			if have != typ {
				return fmt.Errorf("devserver: search attribute %q is registered as %s, not %s", name, have, typ)
			}
			continue
		}
		if _, ok := resp.GetSystemAttributes()[name]; ok {
			return fmt.Errorf("devserver: search attribute %q is a system search attribute", name)
		}
		missing[name] = typ
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        s.namespace,
		SearchAttributes: missing,
	}); err != nil {
		return fmt.Errorf("devserver: adding search attributes: %w", err)
	}
	// The attributes are stored in the namespace record; give every service's
	// namespace cache one refresh to pick them up.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(namespaceRefreshInterval + 500*time.Millisecond):
	}
	return nil
}

func sqlConfig(dbPath string) *config.SQL {
	return &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		DatabaseName:      dbPath,
		ConnectAttributes: map[string]string{"mode": "rwc"},
	}
}

// ensureSchema creates the schema if the database file does not exist yet. It
// builds it in a temporary file and renames it into place, so that temporal.db
// existing always means "complete schema" even if a first start is
// interrupted.
func ensureSchema(dbPath string) error {
	if fi, err := os.Stat(dbPath); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("devserver: %s is not a regular file", dbPath)
		}
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("devserver: %w", err)
	}
	// Leftovers of an interrupted first start.
	if old, _ := filepath.Glob(dbPath + ".init-*"); len(old) > 0 {
		for _, f := range old {
			_ = os.Remove(f)
		}
	}
	// Unique name: the SQLite plugin keeps one connection per file name open for
	// the life of the process, so a name must never be reused.
	tmp := fmt.Sprintf("%s.init-%d-%d", dbPath, os.Getpid(), time.Now().UnixNano())
	if err := sqliteschema.SetupSchema(sqlConfig(tmp)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("devserver: creating schema in %s: %w", dbPath, err)
	}
	if err := os.Rename(tmp, dbPath); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("devserver: creating %s: %w", dbPath, err)
	}
	return nil
}

func serverConfig(sqlCfg *config.SQL, ip string, frontendPort int, frontendAddr string, internal []int) *config.Config {
	svc := func(bindIP string, port int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: port, BindOnIP: bindIP}}
	}
	return &config.Config{
		// Global: no metrics (nil = noop handler), no pprof (port 0).
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    false,
			FailoverVersionIncrement: 10,
			MasterClusterName:        clusterName,
			CurrentClusterName:       clusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{
				// The stored address is updated to this one on every start.
				clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontendAddr},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			string(primitives.FrontendService): svc(ip, frontendPort),
			string(primitives.HistoryService):  svc("127.0.0.1", internal[0]),
			string(primitives.MatchingService): svc("127.0.0.1", internal[1]),
			string(primitives.WorkerService):   svc("127.0.0.1", internal[2]),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{
			Archival: config.ArchivalNamespaceDefaults{
				History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
				Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
			},
		},
		// The server's internal SDK clients (worker service) dial this.
		PublicClient: config.PublicClient{HostPort: frontendAddr},
	}
}

// clientIP is the address clients use to reach a server listening on ip.
func clientIP(ip string) string {
	if parsed := net.ParseIP(ip); parsed != nil && parsed.IsUnspecified() {
		return "127.0.0.1"
	}
	return ip
}

func checkPortFree(ip string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

// freePorts returns n distinct ports that were free a moment ago.
func freePorts(ip string, n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, err
		}
		defer l.Close() // keep all open until all are picked, so they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// freePort returns a port that was free a moment ago on ip and is not in
// exclude.
func freePort(ip string, exclude []int) (int, error) {
	for range 10 {
		ports, err := freePorts(ip, 1)
		if err != nil {
			return 0, err
		}
		if !slices.Contains(exclude, ports[0]) {
			return ports[0], nil
		}
	}
	return 0, errors.New("no free port found")
}

func claimDB(dbPath string) error {
	activeMu.Lock()
	defer activeMu.Unlock()
	if activeDBs[dbPath] {
		return fmt.Errorf("devserver: %s is already used by a running server in this process", dbPath)
	}
	activeDBs[dbPath] = true
	return nil
}

func releaseDB(dbPath string) {
	activeMu.Lock()
	defer activeMu.Unlock()
	delete(activeDBs, dbPath)
}
