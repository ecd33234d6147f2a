package engine

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"

	"go.temporal.io/sdk/client"
)

// Connection is how to reach a secured Temporal frontend, beyond its address and namespace:
// server-verified TLS, mutual TLS with a client certificate, and Temporal Cloud's API key. The
// zero Connection is plaintext, as the embedded dev server and a local cluster are.
//
// kamflow serve and kamflow worker read it from TEMPORAL_TLS, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY,
// TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME and TEMPORAL_API_KEY (cmd/kamflow); a test or another
// program sets it itself and calls Apply on its client.Options.
type Connection struct {
	// TLS turns TLS on with nothing else set: the server's certificate verified against the
	// system's roots. Any of the other fields implies it.
	TLS bool
	// CertFile and KeyFile are PEM files of the client certificate and its key (mTLS): both or
	// neither. They are read again at every new connection, so that a certificate renewed on disk
	// is taken without a restart.
	CertFile, KeyFile string
	// CAFile is a PEM file of the certificate authorities the server's certificate is verified
	// against, in place of the system's roots (a private CA).
	CAFile string
	// ServerName is the name the server's certificate must carry (and the SNI sent), when it is not
	// the host of the address (connecting by IP, or through a proxy).
	ServerName string
	// APIKey authenticates to Temporal Cloud (or any frontend that takes API keys) as a bearer
	// token on every call; it implies TLS. A secret: read from the environment, never a flag.
	APIKey string
}

// Secure reports whether the connection uses TLS.
func (c Connection) Secure() bool {
	return c.TLS || c.CertFile != "" || c.KeyFile != "" || c.CAFile != "" || c.ServerName != "" || c.APIKey != ""
}

// TLSConfig is the TLS configuration of the connection, nil when it is plaintext. Its errors name
// the setting and the file at fault: a certificate without its key, a file that cannot be read or
// holds no certificate.
func (c Connection) TLSConfig() (*tls.Config, error) {
	if !c.Secure() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	switch {
	case c.CertFile != "" && c.KeyFile == "":
		return nil, errors.New("TEMPORAL_TLS_CERT is set without TEMPORAL_TLS_KEY: a client certificate needs its private key")
	case c.KeyFile != "" && c.CertFile == "":
		return nil, errors.New("TEMPORAL_TLS_KEY is set without TEMPORAL_TLS_CERT: a private key needs its client certificate")
	case c.CertFile != "":
		kp := &keyPair{cert: c.CertFile, key: c.KeyFile}
		if _, err := kp.load(); err != nil {
			return nil, err
		}
		cfg.GetClientCertificate = kp.get
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: read the CA certificates: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: %s holds no PEM certificate", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// Apply sets the connection's TLS and credentials on o.
func (c Connection) Apply(o *client.Options) error {
	cfg, err := c.TLSConfig()
	if err != nil {
		return err
	}
	o.ConnectionOptions.TLS = cfg
	if c.APIKey != "" {
		o.Credentials = client.NewAPIKeyStaticCredentials(c.APIKey)
	}
	return nil
}

// keyPair is a client certificate read from its files at each handshake, the last one read kept
// for when the files are being replaced.
type keyPair struct {
	cert, key string
	mu        sync.Mutex
	last      *tls.Certificate
}

func (k *keyPair) load() (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(k.cert, k.key)
	if err != nil {
		return nil, fmt.Errorf("TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY: load the client certificate %s and key %s: %w", k.cert, k.key, err)
	}
	k.mu.Lock()
	k.last = &c
	k.mu.Unlock()
	return &c, nil
}

func (k *keyPair) get(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	c, err := k.load()
	if err != nil {
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.last != nil { // mid-rotation: the pair read last still serves
			return k.last, nil
		}
		return nil, err
	}
	return c, nil
}
