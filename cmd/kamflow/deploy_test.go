package main

// The deploy tests keep deploy/ (the Dockerfile, the compose file, the Kubernetes manifests) and
// the README's table of settings true to the binary, on a machine with no container engine:
// every flag and environment variable they set is one the command reads (from the flag sets
// themselves and the declared environment-only settings, settings.go), and valid (the command's
// own parsing accepts it); the probe and metrics paths answer on running serve and worker
// processes; the grace periods exceed the shutdown timeout; the image's go build line is the
// Makefile's build-prod; and that build links no Temporal server.

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kamflow/kamflow/internal/tlstest"
)

var updateReadme = flag.Bool("update-readme", false, "TestDeploySettingsTable: write the generated table of settings into README.md")

const repoRoot = "../.."

// deployed is one kamflow container of deploy/: what it runs and with which settings.
type deployed struct {
	where   string // file and object, for the messages
	command string // serve or worker
	args    []string
	env     map[string]string // every variable it is given, with its value
	// exampleEnv is what an optional Secret of an *.example.yaml adds, by file.
	exampleEnv map[string]map[string]string
	// Kubernetes only (nil, 0 in compose):
	ports           map[string]int // the container's ports by name
	liveness, ready *probe
	startup         *probe
	scrapePort      string // the prometheus.io/port annotation
	scrapePath      string
	grace           time.Duration // terminationGracePeriodSeconds or compose's stop_grace_period
	preStop         time.Duration
	mounts          map[string]string // mountPath -> Secret name
	listenPorts     []int             // the ports it publishes (compose)
}

type probe struct {
	path string
	port int
}

// clearSettings unsets, for the rest of the test, every variable kamflow reads, so that the flag
// sets' defaults are the binary's own and only what a test sets counts.
func clearSettings(t *testing.T) {
	t.Helper()
	for _, name := range knownEnv() {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
}

// flagSets are the flag sets of serve, worker and dev, as the binary makes them now.
func flagSets() map[string]*flag.FlagSet {
	out := map[string]*flag.FlagSet{}
	for _, cmd := range runCommands {
		fs, _, _ := defineFlags(cmd, cmd == "dev")
		out[cmd] = fs
	}
	return out
}

// readEnv is every variable command reads: its flags' and its environment-only settings.
func readEnv(command string) map[string]bool {
	out := map[string]bool{}
	fs, _, _ := defineFlags(command, command == "dev")
	fs.VisitAll(func(f *flag.Flag) {
		if e := flagEnv(f); e != "" {
			out[e] = true
		}
	})
	for _, s := range envSettingsOf(command) {
		out[s.name] = true
	}
	return out
}

// knownEnv is every variable any command reads.
func knownEnv() []string {
	set := map[string]bool{}
	for _, cmd := range runCommands {
		for name := range readEnv(cmd) {
			set[name] = true
		}
	}
	for _, s := range envSettings {
		set[s.name] = true
	}
	out := make([]string, 0, len(set))
	for name := range set {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// TestDeployFlagEnv: every flag's environment variable, as its help names it, sets its default
// (so that the help, the README and deploy/ name variables that work); and every variable that
// cmd/kamflow and package telemetry read by name is a flag's or a declared environment-only one.
func TestDeployFlagEnv(t *testing.T) {
	for cmd, fs := range flagSets() {
		fs.VisitAll(func(f *flag.Flag) {
			e := flagEnv(f)
			if e == "" {
				return
			}
			clearSettings(t)
			want := "x-probe"
			if g, ok := f.Value.(flag.Getter); ok {
				switch g.Get().(type) {
				case bool:
					want = "true"
				case time.Duration:
					want = "45s"
				case int:
					want = "4242"
				}
			}
			t.Setenv(e, want)
			fs2, _, _ := defineFlags(cmd, cmd == "dev")
			if got := fs2.Lookup(f.Name).DefValue; got != want {
				t.Errorf("kamflow %s --%s: with %s=%s its default is %q: the help names a variable it does not read", cmd, f.Name, e, want, got)
			}
		})
	}

	declared := map[string]bool{}
	for _, name := range knownEnv() {
		declared[name] = true
	}
	// Read on purpose without being a setting: a test knob (knobs.go) and the test harness's.
	hidden := map[string]bool{"KAMFLOW_MAX_UPDATES_PER_RUN": true}
	for _, dir := range []string{".", "../../telemetry"} {
		for name, where := range envReadIn(t, dir) {
			if !declared[name] && !hidden[name] {
				t.Errorf("%s reads %s, which is neither a flag's variable nor in envSettings (settings.go): declare it, for -h, the README and deploy/", where, name)
			}
		}
	}
}

// envReadIn is the variables that the non-test Go files of dir read by a literal name, through
// os.Getenv, os.LookupEnv or env(name, default), with where.
func envReadIn(t *testing.T, dir string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			var fn string
			switch f := call.Fun.(type) {
			case *ast.SelectorExpr:
				if x, ok := f.X.(*ast.Ident); ok && x.Name == "os" {
					fn = "os." + f.Sel.Name
				}
			case *ast.Ident:
				fn = f.Name
			}
			if fn != "os.Getenv" && fn != "os.LookupEnv" && fn != "env" {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				name, _ := strconv.Unquote(lit.Value)
				out[name] = fset.Position(lit.Pos()).String()
			}
			return true
		})
	}
	return out
}

// readYAML decodes every document of a YAML file.
func readYAML(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
	return docs
}

// get walks m by keys ("spec", "template", …); nil when a key is missing.
func yget(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func ylist(v any) []any { l, _ := v.([]any); return l }
func ystr(v any) string { s, _ := v.(string); return s }
func ystrs(v any) []string {
	var out []string
	for _, x := range ylist(v) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}
func ymap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// kubernetesObjects is the objects of deploy/kubernetes by kind and name, and which file holds
// each; the examples are kept apart.
type k8sObjects struct {
	main     map[string]map[string]any // "Secret/kamflow" -> object
	examples map[string]map[string]map[string]any
	file     map[string]string
}

func readKubernetes(t *testing.T) k8sObjects {
	t.Helper()
	o := k8sObjects{main: map[string]map[string]any{}, examples: map[string]map[string]map[string]any{}, file: map[string]string{}}
	files, _ := filepath.Glob(filepath.Join(repoRoot, "deploy/kubernetes/*.yaml"))
	if len(files) == 0 {
		t.Fatal("no deploy/kubernetes/*.yaml")
	}
	for _, f := range files {
		rel, _ := filepath.Rel(repoRoot, f)
		for _, d := range readYAML(t, rel) {
			key := ystr(d["kind"]) + "/" + ystr(yget(d, "metadata", "name"))
			if ystr(d["kind"]) == "Kustomization" {
				for _, r := range ystrs(d["resources"]) {
					if _, err := os.Stat(filepath.Join(filepath.Dir(f), r)); err != nil {
						t.Errorf("%s lists %s: %v", rel, r, err)
					}
				}
				continue
			}
			if strings.HasSuffix(f, ".example.yaml") {
				if o.examples[rel] == nil {
					o.examples[rel] = map[string]map[string]any{}
				}
				o.examples[rel][key] = d
				continue
			}
			if _, dup := o.main[key]; dup {
				t.Errorf("%s: %s twice", rel, key)
			}
			o.main[key] = d
			o.file[key] = rel
		}
	}
	return o
}

// keysOf is the keys and values of a ConfigMap's data or a Secret's stringData (data's values,
// base64, are not needed).
func keysOf(obj map[string]any) map[string]string {
	out := map[string]string{}
	for _, field := range []string{"data", "stringData"} {
		for k, v := range ymap(obj[field]) {
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

// kubernetesContainers is the kamflow containers of the Deployments of deploy/kubernetes.
func kubernetesContainers(t *testing.T, o k8sObjects) []deployed {
	t.Helper()
	var out []deployed
	for key, d := range o.main {
		if ystr(d["kind"]) != "Deployment" {
			continue
		}
		pod := yget(d, "spec", "template")
		spec := yget(pod, "spec")
		for _, c := range ylist(yget(spec, "containers")) {
			args := ystrs(yget(c, "args"))
			if len(args) == 0 {
				t.Errorf("%s: container %s has no args: give the command (serve, worker)", key, ystr(yget(c, "name")))
				continue
			}
			p := deployed{where: o.file[key] + ": " + key + "/" + ystr(yget(c, "name")), command: args[0], args: args[1:],
				env: map[string]string{}, exampleEnv: map[string]map[string]string{}, ports: map[string]int{}, mounts: map[string]string{}}
			for _, ef := range ylist(yget(c, "envFrom")) {
				for kind, field := range map[string]string{"ConfigMap": "configMapRef", "Secret": "secretRef"} {
					ref := yget(ef, field)
					if ref == nil {
						continue
					}
					name := kind + "/" + ystr(yget(ref, "name"))
					if obj, ok := o.main[name]; ok {
						for k, v := range keysOf(obj) {
							p.env[k] = v
						}
						continue
					}
					if yget(ref, "optional") != true {
						t.Errorf("%s: envFrom %s is in no manifest and not optional", p.where, name)
					}
					found := false
					for file, objs := range o.examples {
						if obj, ok := objs[name]; ok {
							found = true
							p.exampleEnv[file] = keysOf(obj)
						}
					}
					if !found {
						t.Errorf("%s: optional envFrom %s is in no example either", p.where, name)
					}
				}
			}
			for _, e := range ylist(yget(c, "env")) {
				if yget(e, "valueFrom") != nil {
					p.env[ystr(yget(e, "name"))] = "" // from a Secret's or the pod's field: name checked
					continue
				}
				p.env[ystr(yget(e, "name"))] = ystr(yget(e, "value"))
			}
			for _, port := range ylist(yget(c, "ports")) {
				n, _ := yget(port, "containerPort").(int)
				p.ports[ystr(yget(port, "name"))] = n
			}
			probeOf := func(field string) *probe {
				h := yget(c, field, "httpGet")
				if h == nil {
					return nil
				}
				pr := &probe{path: ystr(yget(h, "path"))}
				switch port := yget(h, "port").(type) {
				case int:
					pr.port = port
				case string:
					var ok bool
					if pr.port, ok = p.ports[port]; !ok {
						t.Errorf("%s: %s names port %q, which the container does not have", p.where, field, port)
					}
				}
				if ts, _ := yget(c, field, "timeoutSeconds").(int); field != "startupProbe" && ts < 3 {
					t.Errorf("%s: %s timeoutSeconds %d: the readiness checks take up to 2 s, give 3 or more", p.where, field, ts)
				}
				return pr
			}
			p.liveness, p.ready, p.startup = probeOf("livenessProbe"), probeOf("readinessProbe"), probeOf("startupProbe")
			ann := ymap(yget(pod, "metadata", "annotations"))
			if ystr(ann["prometheus.io/scrape"]) == "true" {
				p.scrapePort, p.scrapePath = ystr(ann["prometheus.io/port"]), ystr(ann["prometheus.io/path"])
			}
			if g, ok := yget(spec, "terminationGracePeriodSeconds").(int); ok {
				p.grace = time.Duration(g) * time.Second
			} else {
				p.grace = 30 * time.Second // Kubernetes' default
			}
			if s, ok := yget(c, "lifecycle", "preStop", "sleep", "seconds").(int); ok {
				p.preStop = time.Duration(s) * time.Second
			}
			vols := map[string]string{}
			for _, v := range ylist(yget(spec, "volumes")) {
				if s := ystr(yget(v, "secret", "secretName")); s != "" {
					vols[ystr(yget(v, "name"))] = s
				}
			}
			for _, m := range ylist(yget(c, "volumeMounts")) {
				if s, ok := vols[ystr(yget(m, "name"))]; ok {
					p.mounts[ystr(yget(m, "mountPath"))] = s
				}
			}
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].where < out[j].where })
	return out
}

// composeServices is the kamflow services of deploy/compose.yaml: those built from
// deploy/Dockerfile.
func composeServices(t *testing.T) []deployed {
	t.Helper()
	docs := readYAML(t, "deploy/compose.yaml")
	if len(docs) != 1 {
		t.Fatalf("deploy/compose.yaml: %d documents", len(docs))
	}
	var out []deployed
	services := ymap(docs[0]["services"])
	names := make([]string, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		s := services[name]
		if ystr(yget(s, "build", "dockerfile")) != "deploy/Dockerfile" {
			continue
		}
		if ctx := ystr(yget(s, "build", "context")); filepath.Clean(filepath.Join("deploy", ctx)) != "." {
			t.Errorf("compose service %s: build context %q is not the repository's root", name, ctx)
		}
		cmd := ystrs(yget(s, "command"))
		if len(cmd) == 0 {
			t.Errorf("compose service %s: no command", name)
			continue
		}
		p := deployed{where: "deploy/compose.yaml: services." + name, command: cmd[0], args: cmd[1:], env: map[string]string{}}
		switch e := yget(s, "environment").(type) {
		case map[string]any:
			for k, v := range e {
				p.env[k] = fmt.Sprint(v)
			}
		case []any:
			for _, kv := range e {
				k, v, _ := strings.Cut(fmt.Sprint(kv), "=")
				p.env[k] = v
			}
		}
		p.grace = 10 * time.Second // compose's default
		if g := ystr(yget(s, "stop_grace_period")); g != "" {
			d, err := time.ParseDuration(g)
			if err != nil {
				t.Errorf("%s: stop_grace_period %q: %v", p.where, g, err)
			}
			p.grace = d
		}
		for _, port := range ystrs(yget(s, "ports")) {
			i := strings.LastIndex(port, ":")
			n, err := strconv.Atoi(strings.SplitN(port[i+1:], "/", 2)[0])
			if err != nil {
				t.Errorf("%s: port %q", p.where, port)
			}
			p.listenPorts = append(p.listenPorts, n)
		}
		out = append(out, p)
	}
	if len(out) < 2 {
		t.Fatalf("deploy/compose.yaml: %d kamflow services (built from deploy/Dockerfile), want serve and worker", len(out))
	}
	return out
}

// check checks one deployed kamflow: its command, flags and variables are the binary's, its
// settings parse, its ports and probes are where the process listens, and its grace period is
// above its shutdown timeout. It returns the process's config.
func (p deployed) check(t *testing.T) config {
	t.Helper()
	if p.command != "serve" && p.command != "worker" {
		t.Errorf("%s: command %q: a deployment runs serve or worker", p.where, p.command)
		return config{}
	}
	reads := readEnv(p.command)
	for _, env := range append([]map[string]string{p.env}, mapsOf(p.exampleEnv)...) {
		for name := range env {
			if !reads[name] {
				t.Errorf("%s: sets %s, which kamflow %s does not read", p.where, name, p.command)
			}
		}
	}
	clearSettings(t)
	for k, v := range p.env {
		t.Setenv(k, v)
	}
	cfg, err := parseFlags(p.command, p.args, false)
	if err != nil {
		t.Errorf("%s: kamflow %s %s refuses its settings: %v", p.where, p.command, strings.Join(p.args, " "), err)
		return cfg
	}
	// The examples' settings on top, each file in turn; TLS files where the Secret is mounted.
	for file, env := range p.exampleEnv {
		clearSettings(t)
		for k, v := range p.env {
			t.Setenv(k, v)
		}
		certs := tlstest.Write(t, t.TempDir(), "temporal.internal")
		for k, v := range env {
			if strings.HasPrefix(v, "/") && strings.HasPrefix(k, "TEMPORAL_TLS_") {
				v = p.mountedFile(t, file, k, v, certs)
			}
			t.Setenv(k, v)
		}
		if _, err := parseFlags(p.command, p.args, false); err != nil {
			t.Errorf("%s with %s: kamflow %s refuses its settings: %v", p.where, file, p.command, err)
		}
	}

	addr := cfg.addr
	if p.command == "worker" {
		addr = cfg.workerAddr
	}
	_, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("%s: listen address %q: %v", p.where, addr, err)
	}
	port, _ := strconv.Atoi(portStr)
	if p.ports != nil { // Kubernetes
		if !slices.Contains(mapValues(p.ports), port) {
			t.Errorf("%s: kamflow %s listens on %d, not a containerPort (%v)", p.where, p.command, port, p.ports)
		}
		for what, pr := range map[string]*probe{"livenessProbe": p.liveness, "readinessProbe": p.ready, "startupProbe": p.startup} {
			if pr == nil {
				if what != "startupProbe" {
					t.Errorf("%s: no %s", p.where, what)
				}
				continue
			}
			if pr.port != port {
				t.Errorf("%s: %s on port %d, but kamflow %s listens on %d", p.where, what, pr.port, p.command, port)
			}
		}
		if p.liveness != nil && p.liveness.path != "/livez" {
			t.Errorf("%s: liveness on %s: use /livez, which checks no dependency (a database or Temporal outage must not restart pods)", p.where, p.liveness.path)
		}
		if p.ready != nil && p.ready.path != "/readyz" {
			t.Errorf("%s: readiness on %s: use /readyz", p.where, p.ready.path)
		}
		if p.scrapePort != strconv.Itoa(port) || p.scrapePath != "/metrics" {
			t.Errorf("%s: Prometheus scrapes port %q path %q, want %d /metrics", p.where, p.scrapePort, p.scrapePath, port)
		}
		for dir, secret := range p.mounts {
			if !strings.HasPrefix(dir, "/etc/") && dir != "/tmp" {
				t.Errorf("%s: Secret %s mounted at %s", p.where, secret, dir)
			}
		}
	} else if !slices.Contains(p.listenPorts, port) {
		t.Errorf("%s: kamflow %s listens on %d, which it does not publish (%v)", p.where, p.command, port, p.listenPorts)
	}
	if need := cfg.shutdownTimeout + p.preStop; p.grace <= need {
		t.Errorf("%s: grace period %s is not above the shutdown timeout %s (plus the preStop sleep %s): a graceful stop would be SIGKILLed", p.where, p.grace, cfg.shutdownTimeout, p.preStop)
	}
	return cfg
}

// mountedFile is where the file named by variable k (path v, from an example) would be: under a
// mount of a Secret that the example has, with that file as a key. It returns the matching file
// of certs for the parse.
func (p deployed) mountedFile(t *testing.T, example, k, v string, certs tlstest.Files) string {
	t.Helper()
	dir, base := filepath.Dir(v), filepath.Base(v)
	secret, ok := p.mounts[dir]
	if !ok {
		t.Errorf("%s with %s: %s=%s is not in a mounted Secret (%v)", p.where, example, k, v, p.mounts)
	} else if objs := readKubernetesExample(t, example); objs != nil {
		if _, ok := keysOf(objs["Secret/"+secret])[base]; !ok {
			t.Errorf("%s with %s: %s=%s, but Secret %s of the example has no key %s", p.where, example, k, v, secret, base)
		}
	}
	switch k {
	case "TEMPORAL_TLS_CA":
		return certs.CA
	case "TEMPORAL_TLS_CERT":
		return certs.ClientCert
	case "TEMPORAL_TLS_KEY":
		return certs.ClientKey
	}
	return v
}

func readKubernetesExample(t *testing.T, file string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, d := range readYAML(t, file) {
		out[ystr(d["kind"])+"/"+ystr(yget(d, "metadata", "name"))] = d
	}
	return out
}

func mapsOf(m map[string]map[string]string) []map[string]string {
	var out []map[string]string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func mapValues(m map[string]int) []int {
	var out []int
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestDeployKubernetes checks the Deployments of deploy/kubernetes (serve and worker, each
// once), their ConfigMap, Secrets and examples, against the binary; TestDeployProbesAnswer then
// asks their probe paths of running processes.
func TestDeployKubernetes(t *testing.T) {
	o := readKubernetes(t)
	seen := map[string]int{}
	for _, p := range kubernetesContainers(t, o) {
		t.Run(p.where, func(t *testing.T) { p.check(t) })
		seen[p.command]++
	}
	if seen["serve"] != 1 || seen["worker"] != 1 {
		t.Errorf("deploy/kubernetes: Deployments run %v, want serve and worker once each", seen)
	}
	if _, ok := keysOf(o.main["Secret/kamflow"])["DATABASE_URL"]; !ok {
		t.Error("deploy/kubernetes: no Secret kamflow with DATABASE_URL")
	}
	if s := o.main["Service/kamflow-serve"]; s == nil {
		t.Error("deploy/kubernetes: no Service kamflow-serve")
	} else if tp := ystr(yget(ylist(yget(s, "spec", "ports"))[0], "targetPort")); tp != "http" {
		t.Errorf("Service kamflow-serve targets port %q, want serve's port http", tp)
	}
	for _, d := range o.main {
		if ystr(d["kind"]) == "ConfigMap" || ystr(d["kind"]) == "Secret" {
			continue
		}
		if yget(d, "spec", "template") != nil {
			if yget(d, "spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
				t.Errorf("%s/%s: runAsNonRoot is not set", ystr(d["kind"]), ystr(yget(d, "metadata", "name")))
			}
		}
	}
}

// TestDeployCompose checks the kamflow services of deploy/compose.yaml against the binary.
func TestDeployCompose(t *testing.T) {
	seen := map[string]int{}
	for _, p := range composeServices(t) {
		t.Run(p.where, func(t *testing.T) { p.check(t) })
		seen[p.command]++
	}
	if seen["serve"] == 0 || seen["worker"] == 0 {
		t.Errorf("deploy/compose.yaml runs %v, want serve and worker", seen)
	}
}

// TestDeployComposeTemporal: compose's Temporal images are the server version go.mod pins, the
// one make e2e-cluster runs kamflow on, and the files it mounts into them are in deploy/ (the
// schema script is the one make e2e-cluster runs).
func TestDeployComposeTemporal(t *testing.T) {
	mod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*go\.temporal\.io/server v(\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod does not require go.temporal.io/server")
	}
	want := string(m[1])
	docs := readYAML(t, "deploy/compose.yaml")
	images := 0
	for name, s := range ymap(docs[0]["services"]) {
		image := ystr(yget(s, "image"))
		repo, tag, _ := strings.Cut(image, ":")
		if !strings.HasPrefix(repo, "temporalio/") {
			continue
		}
		images++
		if tag != want {
			t.Errorf("compose service %s: image %s, want tag %s (go.mod's go.temporal.io/server)", name, image, want)
		}
		for _, v := range ystrs(yget(s, "volumes")) {
			src, _, _ := strings.Cut(v, ":")
			if _, err := os.Stat(filepath.Join(repoRoot, "deploy", src)); err != nil {
				t.Errorf("compose service %s mounts %s: %v", name, src, err)
			}
		}
	}
	if images < 2 {
		t.Errorf("deploy/compose.yaml has %d Temporal images, want the server and admin-tools", images)
	}
}

// dockerfile is deploy/Dockerfile's instructions, continuation lines joined, comments left out.
func dockerfile(t *testing.T) [][2]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	var cur string
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		cur += trimmed
		op, rest, _ := strings.Cut(cur, " ")
		out = append(out, [2]string{strings.ToUpper(op), strings.TrimSpace(rest)})
		cur = ""
	}
	return out
}

// TestDeployDockerfile: the image's go build line is the Makefile's build-prod (with the image's
// output path), static and without the dev server; the image runs that binary as a non-root
// user on a minimal base, with the Go version go.mod asks for.
func TestDeployDockerfile(t *testing.T) {
	ins := dockerfile(t)
	var builds []string
	var stages []string
	var user, entrypoint, goVersion string
	var copies [][]string
	var exposed []string
	var finalEnv []string
	for _, in := range ins {
		switch in[0] {
		case "FROM":
			stages = append(stages, in[1])
			user, finalEnv, copies = "", nil, nil
		case "RUN":
			if strings.Contains(in[1], "go build") {
				cmd := in[1]
				for strings.HasPrefix(cmd, "--") { // RUN's own options (--mount=…)
					_, cmd, _ = strings.Cut(cmd, " ")
					cmd = strings.TrimSpace(cmd)
				}
				builds = append(builds, cmd)
			}
		case "USER":
			user = in[1]
		case "ENTRYPOINT":
			var e []string
			if err := json.Unmarshal([]byte(in[1]), &e); err != nil || len(e) != 1 {
				t.Errorf("ENTRYPOINT %s: want the binary alone, in JSON form", in[1])
			} else {
				entrypoint = e[0]
			}
		case "CMD":
			var c []string
			if err := json.Unmarshal([]byte(in[1]), &c); err != nil || len(c) == 0 || !slices.Contains([]string{"serve", "worker"}, c[0]) {
				t.Errorf("CMD %s: want serve or worker, in JSON form", in[1])
			}
		case "COPY":
			copies = append(copies, strings.Fields(in[1]))
		case "EXPOSE":
			exposed = append(exposed, strings.Fields(in[1])...)
		case "ARG":
			if v, ok := strings.CutPrefix(in[1], "GO_VERSION="); ok {
				goVersion = v
			}
		case "ENV":
			finalEnv = append(finalEnv, strings.Fields(in[1])...)
		}
	}
	if len(builds) != 1 {
		t.Fatalf("deploy/Dockerfile: %d RUN lines with go build, want 1: %q", len(builds), builds)
	}
	out := regexp.MustCompile(`-o (\S+)`).FindStringSubmatch(builds[0])
	if out == nil {
		t.Fatalf("deploy/Dockerfile: %q has no -o", builds[0])
	}
	mk, err := exec.Command("make", "-s", "-n", "-C", repoRoot, "build-prod", "GO=go", "PROD_BIN="+out[1]).CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build-prod: %v\n%s", err, mk)
	}
	if want := strings.TrimSpace(string(mk)); builds[0] != want {
		t.Errorf("deploy/Dockerfile builds with\n\t%s\nthe Makefile's build-prod with\n\t%s\nmake them the same", builds[0], want)
	}
	for _, must := range []string{"CGO_ENABLED=0", "-tags nodev", "./cmd/kamflow"} {
		if !strings.Contains(builds[0], must) {
			t.Errorf("the production build %q lacks %s", builds[0], must)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("deploy/Dockerfile: %d stages, want a build stage and the image's", len(stages))
	}
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("the image is FROM %s: want distroless static (CA certificates, tzdata, no shell) or scratch", final)
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" {
		t.Errorf("the image's USER is %q: want a non-root user", user)
	}
	copied := false
	for _, c := range copies {
		if len(c) == 3 && strings.HasPrefix(c[0], "--from=") && c[1] == out[1] && c[2] == entrypoint {
			copied = true
		}
	}
	if !copied {
		t.Errorf("the image does not COPY the built %s to its ENTRYPOINT %q", out[1], entrypoint)
	}
	clearSettings(t)
	fs := flagSets()
	for _, addr := range []string{fs["serve"].Lookup("addr").DefValue, fs["worker"].Lookup("listen").DefValue} {
		if _, port, _ := net.SplitHostPort(addr); !slices.Contains(exposed, port) {
			t.Errorf("the image EXPOSEs %v, not %s (the default %s)", exposed, port, addr)
		}
	}
	reads := map[string]bool{}
	for _, c := range []string{"serve", "worker"} {
		for k := range readEnv(c) {
			reads[k] = true
		}
	}
	for _, kv := range finalEnv {
		if k, _, _ := strings.Cut(kv, "="); !reads[k] {
			t.Errorf("the image sets ENV %s, which neither serve nor worker reads", k)
		}
	}
	mod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod); m == nil || string(m[1]) != goVersion {
		t.Errorf("deploy/Dockerfile: ARG GO_VERSION=%s, go.mod asks for go %s", goVersion, m[1])
	}
}

// TestDeployNoDevServer: the production build (-tags nodev) links no package of the Temporal
// server; the default build does (its dev command), which shows that the tag is what leaves it out.
func TestDeployNoDevServer(t *testing.T) {
	deps := func(tags ...string) []string {
		args := append([]string{"list", "-deps"}, tags...)
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
		var server []string
		for _, p := range strings.Fields(string(out)) {
			if strings.HasPrefix(p, "go.temporal.io/server/") || p == "go.temporal.io/server" {
				server = append(server, p)
			}
		}
		return server
	}
	if s := deps("-tags", "nodev"); len(s) > 0 {
		t.Errorf("go list -deps -tags nodev ./cmd/kamflow has %d go.temporal.io/server packages, such as %v: keep them to dev.go's files", len(s), s[:min(5, len(s))])
	}
	if s := deps(); len(s) == 0 {
		t.Error("the default build links no go.temporal.io/server package: where is dev's embedded server?")
	}
}

// TestDeployProbesAnswer starts `kamflow serve` and `kamflow worker` as processes (on the
// embedded Temporal server and PostgreSQL) and asks each the probe and metrics paths that
// deploy/kubernetes gives it: each answers 200 once the process is up.
func TestDeployProbesAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server and PostgreSQL")
	}
	paths := map[string]map[string]bool{}
	for _, p := range kubernetesContainers(t, readKubernetes(t)) {
		if paths[p.command] == nil {
			paths[p.command] = map[string]bool{}
		}
		for _, pr := range []*probe{p.liveness, p.ready, p.startup} {
			if pr != nil {
				paths[p.command][pr.path] = true
			}
		}
		if p.scrapePath != "" {
			paths[p.command][p.scrapePath] = true
		}
	}
	s := startStack(t)
	w := s.startWorker("worker")
	workerAddr := w.waitLine(deployWorkerHTTP, startupWait)[1]
	_, serveAddr := s.startServe("serve", "127.0.0.1:0")
	for cmd, addr := range map[string]string{"serve": serveAddr, "worker": workerAddr} {
		if len(paths[cmd]) == 0 {
			t.Errorf("deploy/kubernetes gives %s no probe or metrics path", cmd)
		}
		for path := range paths[cmd] {
			url := "http://" + addr + path
			var last string
			eventually(t, cmd+" answering GET "+path, func() bool {
				resp, err := http.Get(url)
				if err != nil {
					last = err.Error()
					return false
				}
				resp.Body.Close()
				last = resp.Status
				return resp.StatusCode == http.StatusOK
			})
			t.Logf("kamflow %s: GET %s: %s", cmd, path, last)
		}
	}
}

var deployWorkerHTTP = regexp.MustCompile(`msg="HTTP listening" what="worker metrics and probes" addr=(\S+)`)

// settingsTable is the README's table of every setting, made from the flag sets of serve, worker
// and dev and the environment-only settings.
func settingsTable(t *testing.T) string {
	t.Helper()
	clearSettings(t)
	type row struct {
		flag, env, def, what string
		cmds                 map[string]bool
	}
	rows := map[string]*row{}
	var order []string
	for _, cmd := range runCommands {
		fs, _, _ := defineFlags(cmd, cmd == "dev")
		fs.VisitAll(func(f *flag.Flag) {
			r := rows["--"+f.Name]
			if r == nil {
				what := f.Usage
				if e := flagEnv(f); e != "" {
					what = regexp.MustCompile(`\s*\(`+e+`(=[^)]*)?\)`).ReplaceAllString(what, "")
				}
				r = &row{flag: "`--" + f.Name + "`", env: flagEnv(f), def: f.DefValue, what: what, cmds: map[string]bool{}}
				rows["--"+f.Name] = r
				order = append(order, "--"+f.Name)
			}
			r.cmds[cmd] = true
		})
	}
	for _, s := range envSettings {
		r := &row{flag: "—", env: s.name, def: s.def, what: s.what, cmds: map[string]bool{}}
		for _, c := range s.commands {
			r.cmds[c] = true
		}
		rows[s.name] = r
		order = append(order, s.name)
	}
	var b strings.Builder
	b.WriteString("| flag | environment | default | serve | worker | dev | what |\n|---|---|---|:-:|:-:|:-:|---|\n")
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	code := func(s string) string {
		if s == "" {
			return "—"
		}
		return "`" + s + "`"
	}
	for _, k := range order {
		r := rows[k]
		fmt.Fprintf(&b, "| %s | %s | %s |", r.flag, code(r.env), cell(code(r.def)))
		for _, c := range runCommands {
			if r.cmds[c] {
				b.WriteString(" ✓ |")
			} else {
				b.WriteString("   |")
			}
		}
		fmt.Fprintf(&b, " %s |\n", cell(r.what))
	}
	return b.String()
}

const (
	settingsBegin = "<!-- settings: generated from the flag sets and settings.go; TestDeploySettingsTable checks it (-update-readme rewrites it) -->\n"
	settingsEnd   = "<!-- end of settings -->\n"
)

// TestDeploySettingsTable: the README's table of settings is the binary's.
func TestDeploySettingsTable(t *testing.T) {
	path := filepath.Join(repoRoot, "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, settingsBegin), strings.Index(readme, settingsEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no table of settings between %q and %q", settingsBegin, settingsEnd)
	}
	want := settingsTable(t)
	got := readme[i+len(settingsBegin) : j]
	if got == want {
		return
	}
	if *updateReadme {
		updated := readme[:i+len(settingsBegin)] + want + readme[j:]
		if strings.Count(updated, "\n") < strings.Count(readme, "\n")-strings.Count(got, "\n") {
			t.Fatal("refusing to write a README shorter than itself without the table")
		}
		if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("README.md: table of settings rewritten (%d lines)", strings.Count(want, "\n"))
		return
	}
	t.Errorf("README.md's table of settings is not the binary's; run go test ./cmd/kamflow -run TestDeploySettingsTable -update-readme. Want:\n%s", want)
}

// TestDeployHelpListsEnvironment: -h shows the environment-only settings too.
func TestDeployHelpListsEnvironment(t *testing.T) {
	for _, cmd := range []string{"serve", "worker"} {
		fs, _, _ := defineFlags(cmd, false)
		var out bytes.Buffer
		fs.SetOutput(&out)
		if err := fs.Parse([]string{"-h"}); err != flag.ErrHelp {
			t.Fatalf("-h: %v", err)
		}
		for _, s := range envSettingsOf(cmd) {
			if !strings.Contains(out.String(), "  "+s.name+"\n") {
				t.Errorf("kamflow %s -h does not list %s:\n%s", cmd, s.name, out.String())
			}
		}
	}
}
