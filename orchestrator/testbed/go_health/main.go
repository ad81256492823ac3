// healthfleet: one process serving grpc.health.v1.Health (and reflection) on many addresses.
//
// Each -listen flag is host:port; with -cert/-key every listener speaks TLS.
// One grpc.Server serves all listeners, so a fleet of endpoints costs one process.
// It prints "listening N" once every socket is bound, and exits on SIGTERM.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

type addresses []string

func (a *addresses) String() string     { return strings.Join(*a, ",") }
func (a *addresses) Set(v string) error { *a = append(*a, v); return nil }

func main() {
	var listen addresses
	flag.Var(&listen, "listen", "host:port to serve on (repeatable)")
	listenFile := flag.String("listen-file", "", "file with one host:port per line")
	certFile := flag.String("cert", "", "server certificate (PEM); TLS when set")
	keyFile := flag.String("key", "", "server key (PEM)")
	flag.Parse()
	if *listenFile != "" {
		data, err := os.ReadFile(*listenFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		for _, line := range strings.Fields(string(data)) {
			listen = append(listen, line)
		}
	}
	var options []grpc.ServerOption
	if *certFile != "" {
		pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		options = append(options, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{pair}})))
	}
	server := grpc.NewServer(options...)
	healthpb.RegisterHealthServer(server, health.NewServer()) // "" is SERVING from the start
	reflection.Register(server)
	for _, address := range listen {
		socket, err := net.Listen("tcp", address)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go server.Serve(socket)
	}
	fmt.Printf("listening %d\n", len(listen))
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	server.Stop()
}
