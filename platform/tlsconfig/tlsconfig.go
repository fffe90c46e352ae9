// Package tlsconfig reads the deployment's TLS files and turns them into
// the configurations of gRPC servers and clients and of the HTTP edge.
//
// Every process of a deployment takes the same three variables:
// GUANXI_TLS_CERT_FILE and GUANXI_TLS_KEY_FILE, the process's certificate
// and key in PEM, and GUANXI_TLS_CA_FILE, the CA that signs the
// certificates of the deployment. With a certificate, gRPC servers listen
// with TLS; with the CA as well they require a client certificate it
// signed (mutual TLS), and clients verify servers against it and present
// their own certificate. The certificate then needs both the server and
// the client extended key usage, and the names services are dialed by.
// Without any of them everything runs in plaintext, as on one machine.
package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/guanxi-crm/guanxi/platform/config"
)

// Files names the PEM files.
type Files struct {
	// CertFile is the process's PEM certificate: with it, servers listen
	// with TLS (set KeyFile too).
	CertFile string `env:"CERT_FILE"`
	// KeyFile is the PEM private key of CertFile.
	KeyFile string `env:"KEY_FILE"`
	// CAFile is the PEM CA that signs the deployment's certificates: with
	// it, services require client certificates it signed (mutual TLS) and
	// clients verify servers against it.
	CAFile string `env:"CA_FILE"`
}

// Load reads Files from the GUANXI_TLS_* variables.
func Load() (Files, error) {
	f, err := config.Load[Files]("GUANXI_TLS_")
	if err != nil {
		return Files{}, err
	}
	if (f.CertFile == "") != (f.KeyFile == "") {
		return Files{}, errors.New("GUANXI_TLS_CERT_FILE and GUANXI_TLS_KEY_FILE go together")
	}
	return f, nil
}

// Process is Load, read once: the files every server and client of this
// process use.
var Process = sync.OnceValues(Load)

// ProcessDialOptions are Process's DialOptions, made once: every dial of
// the process shares them instead of reading the files again.
var ProcessDialOptions = sync.OnceValues(func() ([]grpc.DialOption, error) {
	f, err := Process()
	if err != nil {
		return nil, err
	}
	return f.DialOptions()
})

// Server is the TLS configuration of a server, nil without a certificate.
// With a CA, clients must present a certificate it signed when
// requireClientCert is set (the gRPC services); the HTTP edge, which
// browsers and integrations call, leaves it unset.
func (f Files) Server(requireClientCert bool) (*tls.Config, error) {
	if f.CertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if requireClientCert && f.CAFile != "" {
		if cfg.ClientCAs, err = f.pool(); err != nil {
			return nil, err
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// Client is the TLS configuration of a client of the services, nil when
// neither a CA nor a certificate is set: servers are verified against the
// CA, and the certificate, when set, is presented to them.
func (f Files) Client() (*tls.Config, error) {
	if f.CAFile == "" && f.CertFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	var err error
	if f.CAFile != "" {
		if cfg.RootCAs, err = f.pool(); err != nil {
			return nil, err
		}
	}
	if f.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// ServerOptions are the gRPC server options for f: none in plaintext.
func (f Files) ServerOptions() ([]grpc.ServerOption, error) {
	cfg, err := f.Server(true)
	if err != nil || cfg == nil {
		return nil, err
	}
	return []grpc.ServerOption{grpc.Creds(credentials.NewTLS(cfg))}, nil
}

// DialOptions are the gRPC dial options for f: none in plaintext.
func (f Files) DialOptions() ([]grpc.DialOption, error) {
	cfg, err := f.Client()
	if err != nil || cfg == nil {
		return nil, err
	}
	return []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(cfg))}, nil
}

func (f Files) pool() (*x509.CertPool, error) {
	pem, err := os.ReadFile(f.CAFile)
	if err != nil {
		return nil, fmt.Errorf("tls ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls ca: no PEM certificate in %s", f.CAFile)
	}
	return pool, nil
}
