package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
)

// envSetting is a setting read from the environment only: a secret (a flag would show it in ps),
// one read before the flags (the log's), or one of OpenTelemetry's standard variables. The flags'
// own environment variables are named in their help instead, as "(NAME)".
type envSetting struct {
	name     string
	commands []string // the commands that read it
	def      string   // its default, "" for none
	what     string
}

var (
	allCommands = []string{"serve", "worker", "dev", "user"}
	runCommands = []string{"serve", "worker", "dev"}
	clusterCmds = []string{"serve", "worker"}
	noticeCmds  = []string{"worker", "dev"}
	otelWhat    = "standard OpenTelemetry setting of the trace export (see Metrics and traces)"
)

// envSettings are every environment-only setting, in the order the help lists them.
// TestDeploySettings checks that every variable cmd/kamflow and package telemetry read is here or
// a flag's, and the README's table of settings against these and the flags.
var envSettings = []envSetting{
	{"KAMFLOW_LOG_LEVEL", allCommands, "info", "log level: debug, info, warn or error"},
	{"KAMFLOW_LOG_FORMAT", allCommands, "text", "text (key=value lines) or json (one JSON object a line)"},
	{"TEMPORAL_API_KEY", clusterCmds, "", "API key of Temporal Cloud, sent as a bearer token; implies TLS (a secret)"},
	{"KAMFLOW_WEBHOOK_SECRET", noticeCmds, "", "key that signs the webhook's notices; required with --webhook-url (a secret)"},
	{"KAMFLOW_SMTP_PASSWORD", noticeCmds, "", "password of --smtp-username (a secret)"},
	{"KAMFLOW_FIELD_SERVICE_SECRET", noticeCmds, "", "key that signs the delivery steps sent to --field-service-url; required with it (a secret)"},
	{"KAMFLOW_DEMO_PASSWORD", []string{"dev"}, "demo", "password of the demo users dev creates"},
	{"OTEL_EXPORTER_OTLP_ENDPOINT", runCommands, "", "OTLP endpoint: set, kamflow exports traces to it; unset, no traces"},
	{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", runCommands, "", "OTLP endpoint of the traces alone, in place of the one above"},
	{"OTEL_EXPORTER_OTLP_PROTOCOL", runCommands, "grpc", "grpc or http/protobuf"},
	{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", runCommands, "", "the traces' protocol, in place of the one above"},
	{"OTEL_SERVICE_NAME", runCommands, "kamflow-<command>", "service.name of the traces"},
	{"OTEL_RESOURCE_ATTRIBUTES", runCommands, "", otelWhat},
	{"OTEL_EXPORTER_OTLP_HEADERS", runCommands, "", otelWhat},
	{"OTEL_EXPORTER_OTLP_INSECURE", runCommands, "", otelWhat},
	{"OTEL_EXPORTER_OTLP_CERTIFICATE", runCommands, "", otelWhat},
	{"OTEL_EXPORTER_OTLP_TIMEOUT", runCommands, "", otelWhat},
	{"OTEL_TRACES_SAMPLER", runCommands, "parentbased_always_on", otelWhat},
	{"OTEL_TRACES_SAMPLER_ARG", runCommands, "", otelWhat},
}

// envSettingsOf is the environment-only settings that command reads.
func envSettingsOf(command string) []envSetting {
	var out []envSetting
	for _, s := range envSettings {
		if slices.Contains(s.commands, command) {
			out = append(out, s)
		}
	}
	return out
}

// printUsage is a command's -h: its flags, each with its environment variable, then the settings
// it reads from the environment only.
func printUsage(fs *flag.FlagSet, command string) {
	w := fs.Output()
	fmt.Fprintf(w, "Usage of %s (every flag can be set by the environment variable in its help):\n", fs.Name())
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nEnvironment only:\n")
	for _, s := range envSettingsOf(command) {
		def := ""
		if s.def != "" {
			def = fmt.Sprintf(" (default %s)", s.def)
		}
		fmt.Fprintf(w, "  %s\n    \t%s%s\n", s.name, s.what, def)
	}
}

// flagEnv is the environment variable of a flag: the "(NAME)" or "(NAME=value)" of its help.
func flagEnv(f *flag.Flag) string {
	for rest := f.Usage; ; {
		i := strings.Index(rest, "(")
		if i < 0 {
			return ""
		}
		rest = rest[i+1:]
		j := strings.IndexAny(rest, "=)")
		if j > 0 && isEnvName(rest[:j]) {
			return rest[:j]
		}
	}
}

func isEnvName(s string) bool {
	for i, r := range s {
		if !(r >= 'A' && r <= 'Z' || r == '_' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}
