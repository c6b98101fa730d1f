package graphtest

import (
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server is a Tenant listening on a real TCP port, like httptest.Server.
type Server struct {
	URL    string  // base URL, http://127.0.0.1:PORT (no trailing slash); Graph paths start with /v1.0
	Tenant *Tenant // the simulated tenant

	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// NewServer starts a tenant on 127.0.0.1 with a free port.
func NewServer(cfg Config) (*Server, error) {
	return Listen("127.0.0.1:0", cfg)
}

// Listen starts a tenant on addr (host:port), for `evidence sim --listen`.
func Listen(addr string, cfg Config) (*Server, error) {
	t, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	errLog := log.New(io.Discard, "", 0)
	if t.cfg.Logger != nil {
		errLog = slog.NewLogLogger(t.cfg.Logger.Handler(), slog.LevelWarn)
	}
	s := &Server{
		URL:    "http://" + ln.Addr().String(),
		Tenant: t,
		srv: &http.Server{
			Handler:           t,
			ReadHeaderTimeout: 30 * time.Second,
			ErrorLog:          errLog,
		},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && t.cfg.Logger != nil {
			t.cfg.Logger.Error("graphtest: serve", "err", err)
		}
	}()
	return s, nil
}

// Close stops the server and closes its connections.
func (s *Server) Close() {
	s.srv.Close() //nolint:errcheck // closing
	<-s.done
}
