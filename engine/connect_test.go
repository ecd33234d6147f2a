package engine_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/kamflow/kamflow/engine"
	"github.com/kamflow/kamflow/internal/tlstest"
)

// TestConnectionOptions: plaintext by default; an API key is credentials over TLS; each mistake
// is an error naming its setting (and file).
func TestConnectionOptions(t *testing.T) {
	f := tlstest.Write(t, t.TempDir(), "temporal.test")
	var o client.Options
	if err := (engine.Connection{}).Apply(&o); err != nil || o.ConnectionOptions.TLS != nil || o.Credentials != nil {
		t.Fatalf("the zero Connection: TLS %v, credentials %v, %v; want plaintext", o.ConnectionOptions.TLS, o.Credentials, err)
	}
	o = client.Options{}
	if err := (engine.Connection{APIKey: "k"}).Apply(&o); err != nil || o.ConnectionOptions.TLS == nil || o.Credentials == nil {
		t.Fatalf("an API key: TLS %v, credentials %v, %v; want both", o.ConnectionOptions.TLS, o.Credentials, err)
	}
	if cfg, err := (engine.Connection{TLS: true}).TLSConfig(); err != nil || cfg == nil || cfg.RootCAs != nil || cfg.GetClientCertificate != nil {
		t.Fatalf("TLS alone: %+v, %v; want the system's roots and no client certificate", cfg, err)
	}
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		conn engine.Connection
		want []string
	}{
		{engine.Connection{CertFile: f.ClientCert}, []string{"TEMPORAL_TLS_CERT is set without TEMPORAL_TLS_KEY"}},
		{engine.Connection{KeyFile: f.ClientKey}, []string{"TEMPORAL_TLS_KEY is set without TEMPORAL_TLS_CERT"}},
		{engine.Connection{CertFile: f.ClientCert, KeyFile: "/nonexistent/key.pem"}, []string{"TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY", "/nonexistent/key.pem"}},
		{engine.Connection{CertFile: f.ClientCert, KeyFile: f.ServerKey}, []string{"TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY"}}, // a key of another certificate
		{engine.Connection{CAFile: "/nonexistent/ca.pem"}, []string{"TEMPORAL_TLS_CA", "/nonexistent/ca.pem"}},
		{engine.Connection{CAFile: garbage}, []string{"TEMPORAL_TLS_CA", "holds no PEM certificate"}},
	} {
		_, err := c.conn.TLSConfig()
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %v, want one with %q", c.conn, err, w)
			}
		}
	}
}

// TestConnectionMutualTLS: the TLS configuration made from the files completes a handshake with
// a server that requires a client certificate of the CA, verified by the server name given, and
// fails against a server whose certificate another CA signed.
func TestConnectionMutualTLS(t *testing.T) {
	f := tlstest.Write(t, t.TempDir(), "temporal.test")
	other := tlstest.Write(t, t.TempDir(), "temporal.test")
	serve := func(files tlstest.Files) string {
		cert, err := tls.LoadX509KeyPair(files.ServerCert, files.ServerKey)
		if err != nil {
			t.Fatal(err)
		}
		caPEM, err := os.ReadFile(files.CA)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { _ = c.(*tls.Conn).Handshake(); c.Write([]byte("ok")); c.Close() }()
			}
		}()
		return ln.Addr().String()
	}
	dial := func(addr string, conn engine.Connection) error {
		cfg, err := conn.TLSConfig()
		if err != nil {
			return err
		}
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			return err
		}
		defer c.Close()
		buf := make([]byte, 2)
		_, err = c.Read(buf) // the server's verdict on the client certificate comes with its first bytes
		return err
	}
	conn := engine.Connection{CertFile: f.ClientCert, KeyFile: f.ClientKey, CAFile: f.CA, ServerName: "temporal.test"}
	addr := serve(f)
	if err := dial(addr, conn); err != nil {
		t.Fatalf("mTLS handshake: %v", err)
	}
	noCert := engine.Connection{CAFile: f.CA, ServerName: "temporal.test"}
	if err := dial(addr, noCert); err == nil {
		t.Error("a server requiring a client certificate took a connection without one")
	}
	wrongName := conn
	wrongName.ServerName = "elsewhere.test"
	if err := dial(addr, wrongName); err == nil {
		t.Error("a server certificate without the server name given was taken")
	}
	if _, port, _ := net.SplitHostPort(serve(other)); dial("127.0.0.1:"+port, conn) == nil {
		t.Error("a server certificate of another CA was taken")
	}
}
