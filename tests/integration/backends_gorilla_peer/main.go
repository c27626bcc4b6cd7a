// A gorilla/websocket peer (the library Go receptor's ws backends use) for the interop test
// tests/integration/backends_gorilla_test.ts.
//
//	server <port> <path>   upgrade with gorilla's default Upgrader (same-origin check) and
//	                       echo every message through NextWriter (fragmented above 4 KiB);
//	                       prints one JSON line per upgraded request with its headers
//	client <url>           dial like Go receptor (Origin http(s)://host, extra header),
//	                       send binary messages (client writes fragment above 4 KiB) of several sizes and a ping, check the echoes
//	                       and the pong, then close; prints "ok" or the failure
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/gorilla/websocket"
)

func main() {
	switch os.Args[1] {
	case "server":
		server(os.Args[2], os.Args[3])
	case "client":
		if err := client(os.Args[2]); err != nil {
			fmt.Println("FAIL:", err)
			os.Exit(1)
		}
		fmt.Println("ok")
	}
}

func server(port, path string) {
	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		line, _ := json.Marshal(map[string]string{
			"origin": r.Header.Get("Origin"), "extra": r.Header.Get("X-Extra"),
		})
		fmt.Println(string(line))
		defer c.Close()
		for {
			mt, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			// NextWriter (not WriteMessage, whose server fast path sends one frame) so that
			// echoes above the 4 KiB write buffer go out as continuation frames.
			w, err := c.NextWriter(mt)
			if err != nil {
				return
			}
			if _, err := w.Write(data); err != nil {
				return
			}
			if err := w.Close(); err != nil {
				return
			}
		}
	})
	srv := &http.Server{Addr: "127.0.0.1:" + port, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	fmt.Println("listening")
	if err := srv.ListenAndServe(); err != nil {
		fmt.Println("FAIL:", err)
		os.Exit(1)
	}
}

func client(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	h := http.Header{}
	h.Add("origin", "http://"+u.Host)
	h.Add("X-Extra", "from-gorilla")
	c, _, err := websocket.DefaultDialer.Dial(raw, h)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	pong := make(chan string, 1)
	c.SetPongHandler(func(s string) error { pong <- s; return nil })
	if err := c.WriteControl(websocket.PingMessage, []byte("hello"), time.Now().Add(time.Second)); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for _, n := range []int{1, 4095, 4097, 100000, 65535} {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(i*13 + n)
		}
		if err := c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			return err
		}
		mt, got, err := c.ReadMessage()
		if err != nil {
			return fmt.Errorf("read echo of %d bytes: %w", n, err)
		}
		if mt != websocket.BinaryMessage || !bytes.Equal(got, msg) {
			return fmt.Errorf("echo of %d bytes differs (type %d, %d bytes)", n, mt, len(got))
		}
	}
	select {
	case s := <-pong:
		if s != "hello" {
			return fmt.Errorf("pong payload %q", s)
		}
	default:
		return fmt.Errorf("no pong")
	}
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "done")
	return c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
}
