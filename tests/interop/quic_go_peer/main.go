// quic_go_peer: a quic-go echo server / echo client used by tests/interop/quic_go_test.ts to
// check interop of the Deno QUIC implementation with quic-go (the library Go receptor uses).
//
//	quic_go_peer server <cert.pem> <key.pem>        prints "PORT <n>", echoes one stream
//	quic_go_peer client <host:port> <bytes>         sends <bytes>, prints JSON with sha256s
package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/quic-go/quic-go"
)

func conf() *quic.Config {
	return &quic.Config{
		MaxIdleTimeout:                 30 * time.Second,
		HandshakeIdleTimeout:           15 * time.Second,
		InitialStreamReceiveWindow:     512 * 1024,
		InitialConnectionReceiveWindow: 768 * 1024,
		MaxIncomingStreams:             100,
		MaxIncomingUniStreams:          100,
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}

func main() {
	ctx := context.Background()
	switch os.Args[1] {
	case "server":
		cert, err := tls.LoadX509KeyPair(os.Args[2], os.Args[3])
		if err != nil {
			fail(err)
		}
		ln, err := quic.ListenAddr("127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"netceptor"}}, conf())
		if err != nil {
			fail(err)
		}
		port := ln.Addr().String()[len("127.0.0.1:"):]
		fmt.Printf("LISTEN %s\n", port)
		conn, err := ln.Accept(ctx)
		if err != nil {
			fail(err)
		}
		st, err := conn.AcceptStream(ctx)
		if err != nil {
			fail(err)
		}
		n, err := io.Copy(st, st)
		if err != nil {
			fail(err)
		}
		st.Close()
		<-conn.Context().Done()
		fmt.Printf("ECHOED %d\n", n)
	case "client":
		total, _ := strconv.Atoi(os.Args[3])
		conn, err := quic.DialAddr(ctx, os.Args[2], &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"netceptor"}}, conf())
		if err != nil {
			fail(err)
		}
		st, err := conn.OpenStreamSync(ctx)
		if err != nil {
			fail(err)
		}
		hs := sha256.New()
		start := time.Now()
		go func() {
			buf := make([]byte, 65536)
			for off := 0; off < total; off += len(buf) {
				for i := range buf {
					buf[i] = byte(off/65536 + i*7)
				}
				n := len(buf)
				if total-off < n {
					n = total - off
				}
				hs.Write(buf[:n])
				if _, err := st.Write(buf[:n]); err != nil {
					fail(err)
				}
			}
			st.Close()
		}()
		hr := sha256.New()
		got, err := io.Copy(hr, st)
		if err != nil {
			fail(err)
		}
		secs := time.Since(start).Seconds()
		conn.CloseWithError(0, "normal close")
		out, _ := json.Marshal(map[string]any{
			"received": got, "sent": hex.EncodeToString(hs.Sum(nil)), "got": hex.EncodeToString(hr.Sum(nil)),
			"mibps": float64(total) / 1048576 / secs,
		})
		fmt.Println(string(out))
	}
}
