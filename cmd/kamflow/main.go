// Command kamflow runs kamflow: `kamflow dev` is everything in one process on an embedded
// Temporal server and SQLite, persisted under ./data; `kamflow serve` (the HTTP API and UI) and
// `kamflow worker` (the deal workflows and their activities) are the production processes, run
// separately against a Temporal cluster and PostgreSQL and scaled horizontally.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kamflow/kamflow/engine"
	"github.com/kamflow/kamflow/telemetry"
	"github.com/kamflow/kamflow/workflows"
)

const usage = `kamflow — industrial key-account sales as durable workflows

Usage:
  kamflow dev     [flags]   API, UI, worker and an embedded Temporal server in one process (data in --data)
  kamflow serve   [flags]   the HTTP API and UI, against TEMPORAL_ADDRESS and DATABASE_URL
  kamflow worker  [flags]   the deal workflows and activities, against TEMPORAL_ADDRESS and DATABASE_URL
  kamflow user add --username NAME --role ROLE [--teams "A,B"]
                            create a user (the first admin); the password is read from standard input

Run "kamflow <command> -h" for the flags. Every flag can also be set by the environment variable
shown in its help.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	logger, err := newLogger(os.Stderr) // ops.go
	if err != nil {
		fmt.Fprintf(os.Stderr, "kamflow: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		// The first signal starts the graceful stop (bounded by --shutdown-timeout); with the
		// handler gone, a second one ends the process at once, as without kamflow's handling.
		stop()
		if cause := context.Cause(ctx); cause != context.Canceled { // not the return of main
			logger.Info("stopping: finishing what is under way; signal again to stop at once", "cause", cause)
		}
	}()

	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "dev":
		err = runDev(ctx, logger, args)
	case "serve":
		err = runServe(ctx, logger, args)
	case "worker":
		err = runWorker(ctx, logger, args)
	case "user":
		err = runUser(ctx, logger, args)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "kamflow: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) { // -h: the usage is printed
		return
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("kamflow stopped", "err", err)
		os.Exit(1)
	}
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("KAMFLOW_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// config is every setting of the three commands; each command reads the ones it uses.
type config struct {
	addr            string
	dataDir         string
	databaseURL     string
	temporalAddress string
	namespace       string
	temporalPort    int
	secureCookies   bool
	trustProxy      bool
	demoPassword    string

	// temporalConn is TLS and the API key to Temporal (serve and worker; dev's is plaintext).
	temporalConn engine.Connection

	// The escalation ladder's outgoing notices (worker and dev): a webhook, e-mail over SMTP.
	webhookURL, webhookSecret  string
	smtpAddr, smtpFrom         string
	smtpUsername, smtpPassword string
	// The ERP / field-service system that delivery steps are sent to (worker and dev).
	fieldServiceURL, fieldServiceSecret string
	// The directors' daily digest (worker and dev): time of day "HH:MM" and IANA time zone.
	digestTime, digestTZ string
	// workerAddr is the worker's HTTP listen address, for its metrics and probes (worker only).
	workerAddr string
	// obs is the process's metrics and traces (observe.go), set once the database is open;
	// tracing, when set (by a test), is where the traces go instead of the OTEL_* environment's.
	obs     *observability
	tracing *telemetry.Tracing
	// shutdownTimeout bounds a stop on SIGTERM or Ctrl-C: how long HTTP requests under way may
	// take to be answered, and the worker's running tasks to finish or be handed back
	// (gracefulWorker, shutdown.go).
	shutdownTimeout time.Duration
}

// defaultShutdownTimeout is --shutdown-timeout's default: the most a request (a command waits
// up to 30 s for its deal's workflow) or an activity's batch should take, and as long as
// Kubernetes' default terminationGracePeriodSeconds: set that above it.
const defaultShutdownTimeout = 30 * time.Second

func parseFlags(name string, args []string, dev bool) (config, error) {
	fs, c, shutdownEnvErr := defineFlags(name, dev)
	if err := fs.Parse(args); err != nil {
		return *c, err
	}
	return *c, checkConfig(fs, *c, name, dev, shutdownEnvErr)
}

// defineFlags makes the flag set of command name (dev for `kamflow dev`), its defaults from the
// environment, and the config its flags fill. Its usage lists the environment-only settings of
// the command too (settings.go); the deploy test walks it to check deploy/ and the README.
func defineFlags(name string, dev bool) (_ *flag.FlagSet, _ *config, shutdownEnvErr error) {
	fs := flag.NewFlagSet("kamflow "+name, flag.ContinueOnError)
	c := new(config)
	if name != "worker" { // the API's: the worker listens on --listen, for its metrics and probes only
		fs.StringVar(&c.addr, "addr", env("KAMFLOW_ADDR", ":8080"), "HTTP listen address of the API and UI (KAMFLOW_ADDR)")
		fs.BoolVar(&c.secureCookies, "secure-cookies", os.Getenv("KAMFLOW_SECURE_COOKIES") == "true", "mark session cookies Secure behind a TLS-terminating proxy (KAMFLOW_SECURE_COOKIES=true)")
		fs.BoolVar(&c.trustProxy, "trust-proxy", os.Getenv("KAMFLOW_TRUST_PROXY") == "true", "take client addresses from X-Forwarded-For, for login throttling (KAMFLOW_TRUST_PROXY=true)")
	}
	fs.StringVar(&c.databaseURL, "database-url", os.Getenv("DATABASE_URL"), "postgres://… URL, or a SQLite file path (DATABASE_URL); dev defaults to <data>/kamflow.db")
	fs.StringVar(&c.namespace, "namespace", env("TEMPORAL_NAMESPACE", "default"), "Temporal namespace (TEMPORAL_NAMESPACE)")
	shutdownEnv, shutdownEnvErr := shutdownTimeoutEnv()
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", shutdownEnv, "on SIGTERM or Ctrl-C, how long requests under way may take to be answered, and the worker's running tasks to finish before they are cancelled and retried on another worker; a Go duration such as 30s or 2m (KAMFLOW_SHUTDOWN_TIMEOUT)")
	if dev {
		fs.StringVar(&c.dataDir, "data", env("KAMFLOW_DATA", "./data"), "directory for the embedded Temporal server's and kamflow's data (KAMFLOW_DATA)")
		fs.IntVar(&c.temporalPort, "temporal-port", 7233, "port of the embedded Temporal server's frontend; 0 picks a free one")
		c.demoPassword = env("KAMFLOW_DEMO_PASSWORD", "demo")
	} else {
		fs.StringVar(&c.temporalAddress, "temporal-address", env("TEMPORAL_ADDRESS", "localhost:7233"), "Temporal frontend host:port (TEMPORAL_ADDRESS)")
		temporalConnFlags(fs, &c.temporalConn) // ops.go
	}
	if dev || name == "worker" {
		fs.StringVar(&c.webhookURL, "webhook-url", os.Getenv("KAMFLOW_WEBHOOK_URL"), "POST each stall and escalation notice here as signed JSON (KAMFLOW_WEBHOOK_URL)")
		c.webhookSecret = os.Getenv("KAMFLOW_WEBHOOK_SECRET") // a secret: environment only, never a flag in ps
		fs.StringVar(&c.smtpAddr, "smtp-addr", os.Getenv("KAMFLOW_SMTP_ADDR"), "SMTP server host:port for e-mailed notices (KAMFLOW_SMTP_ADDR)")
		fs.StringVar(&c.smtpFrom, "smtp-from", os.Getenv("KAMFLOW_SMTP_FROM"), "sender address of e-mailed notices (KAMFLOW_SMTP_FROM)")
		fs.StringVar(&c.smtpUsername, "smtp-username", os.Getenv("KAMFLOW_SMTP_USERNAME"), "SMTP user, with KAMFLOW_SMTP_PASSWORD in the environment (KAMFLOW_SMTP_USERNAME)")
		c.smtpPassword = os.Getenv("KAMFLOW_SMTP_PASSWORD")
		fs.StringVar(&c.fieldServiceURL, "field-service-url", os.Getenv("KAMFLOW_FIELD_SERVICE_URL"), "POST delivery steps (work orders, parts, customer notices) here as signed JSON (KAMFLOW_FIELD_SERVICE_URL); unset, steps are recorded in kamflow only")
		c.fieldServiceSecret = os.Getenv("KAMFLOW_FIELD_SERVICE_SECRET")
		fs.StringVar(&c.digestTime, "digest-time", env("KAMFLOW_DIGEST_TIME", workflows.DefaultDigestTime), "time of day HH:MM of the directors' daily digest (KAMFLOW_DIGEST_TIME)")
		fs.StringVar(&c.digestTZ, "digest-tz", env("KAMFLOW_DIGEST_TZ", workflows.DefaultDigestTimeZone), "IANA time zone of --digest-time (KAMFLOW_DIGEST_TZ)")
	}
	if name == "worker" {
		fs.StringVar(&c.workerAddr, "listen", env("KAMFLOW_WORKER_ADDR", defaultWorkerAddr), "HTTP listen address of the worker's metrics and probes (KAMFLOW_WORKER_ADDR)")
	}
	fs.Usage = func() { printUsage(fs, name) } // settings.go
	return fs, c, shutdownEnvErr
}

// checkConfig refuses a config of command name that cannot work, before anything starts.
func checkConfig(fs *flag.FlagSet, c config, name string, dev bool, shutdownEnvErr error) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if shutdownEnvErr != nil && !flagSet(fs, "shutdown-timeout") {
		return shutdownEnvErr
	}
	if c.shutdownTimeout <= 0 {
		return fmt.Errorf("--shutdown-timeout %s: give a duration above zero, such as 30s", c.shutdownTimeout)
	}
	if c.webhookURL != "" && c.webhookSecret == "" {
		return errors.New("KAMFLOW_WEBHOOK_SECRET is required with a webhook URL: receivers check the signature")
	}
	if c.fieldServiceURL != "" && c.fieldServiceSecret == "" {
		return errors.New("KAMFLOW_FIELD_SERVICE_SECRET is required with a field-service URL: the receiver checks the signature")
	}
	if c.smtpAddr != "" {
		if _, _, err := net.SplitHostPort(c.smtpAddr); err != nil {
			return fmt.Errorf("--smtp-addr %q is not host:port", c.smtpAddr)
		}
		if c.smtpFrom == "" {
			return errors.New("--smtp-from (KAMFLOW_SMTP_FROM) is required with an SMTP server")
		}
	}
	if !dev && c.databaseURL == "" {
		return errors.New("DATABASE_URL (or --database-url) is required")
	}
	if _, err := c.temporalConn.TLSConfig(); err != nil {
		return err
	}
	if dev || name == "worker" {
		if _, err := engine.DigestScheduleAt(c.digestTime, c.digestTZ); err != nil {
			return fmt.Errorf("--digest-time/--digest-tz: %w", err)
		}
	}
	return nil
}

// shutdownTimeoutEnv reads KAMFLOW_SHUTDOWN_TIMEOUT: the default when unset, an error when it is
// not a Go duration.
func shutdownTimeoutEnv() (time.Duration, error) {
	v := os.Getenv("KAMFLOW_SHUTDOWN_TIMEOUT")
	if v == "" {
		return defaultShutdownTimeout, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return defaultShutdownTimeout, fmt.Errorf("KAMFLOW_SHUTDOWN_TIMEOUT=%q is not a duration: give one such as 30s or 2m", v)
	}
	return d, nil
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) (set bool) {
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
